using System.Text.Json;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Networking;

/// <summary>
/// Calls one CNI plugin as the CNI specification (1.0) says: the operation and the container in
/// CNI_* environment variables, the network configuration on stdin, the result (or a structured
/// error: code, msg, details) on stdout. The reference plugins (Debian's containernetworking-plugins)
/// are the same ones containerd, podman and Kubernetes call.
/// </summary>
internal sealed class CniPlugin(string directory)
{
    public const string Version = "1.0.0";

    /// <summary>ADD: attaches the namespace; returns the plugin's result (the input of the next plugin of a chain, as prevResult).</summary>
    public Task<JsonObject> AddAsync(JsonObject config, string containerId, string netns, CancellationToken cancellationToken) =>
        CallAsync("ADD", config, containerId, netns, cancellationToken);

    /// <summary>DEL: releases what ADD made (addresses, host interfaces, firewall rules); the namespace may be gone already.</summary>
    public Task DeleteAsync(JsonObject config, string containerId, string netns, CancellationToken cancellationToken) =>
        CallAsync("DEL", config, containerId, netns, cancellationToken);

    private async Task<JsonObject> CallAsync(string command, JsonObject config, string containerId, string netns, CancellationToken cancellationToken)
    {
        var type = (string?)config["type"] ?? throw new ArgumentException("a CNI configuration needs a type", nameof(config));
        var plugin = Path.Combine(directory, type);
        if (!File.Exists(plugin))
        {
            throw new IsolationException($"the CNI plugin '{type}' is not in {directory} (apt-get install containernetworking-plugins)");
        }

        var result = await Cli.Wrap(plugin)
            .WithEnvironmentVariables(new Dictionary<string, string?>
            {
                ["CNI_COMMAND"] = command,
                ["CNI_CONTAINERID"] = containerId,
                ["CNI_NETNS"] = netns,
                ["CNI_IFNAME"] = "eth0",
                ["CNI_PATH"] = directory,
            })
            .WithStandardInputPipe(PipeSource.FromString(config.ToJsonString()))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new IsolationException($"CNI {type} {command} failed: {Describe(result.StandardOutput, result.StandardError)}");
        }

        return command == "ADD" && result.StandardOutput.Trim().Length > 0
            ? JsonNode.Parse(result.StandardOutput) as JsonObject ?? throw new IsolationException($"CNI {type} ADD printed no result object")
            : [];
    }

    /// <summary>A plugin's error, in its words: msg and details of the error object it prints, else what it printed.</summary>
    private static string Describe(string stdout, string stderr)
    {
        try
        {
            if (JsonNode.Parse(stdout) is JsonObject error && (string?)error["msg"] is { } msg)
            {
                return (string?)error["details"] is { Length: > 0 } details ? $"{msg} ({details})" : msg;
            }
        }
        catch (JsonException)
        {
            // not the error object: show the text
        }

        return (stdout + stderr).Trim() is { Length: > 0 } text ? text : "no message";
    }
}
