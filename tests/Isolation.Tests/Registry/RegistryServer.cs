using System.Net;
using System.Net.Sockets;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Isolation.Tests.Registry;

/// <summary>Debian's docker-registry (the reference OCI registry, distribution 2.8) on a loopback port of its own, for one fixture.</summary>
internal sealed class RegistryServer : IAsyncDisposable
{
    private readonly CommandTask<CommandResult> _process;
    private readonly CancellationTokenSource _stop;

    private RegistryServer(string storage, int port, CommandTask<CommandResult> process, CancellationTokenSource stop)
    {
        Storage = storage;
        Address = $"127.0.0.1:{port}";
        _process = process;
        _stop = stop;
    }

    public string Address { get; }

    public string Storage { get; }

    public static async Task<RegistryServer> StartAsync(string directory, TokenServer? tokens = null)
    {
        if (!File.Exists("/usr/bin/docker-registry"))
        {
            Assert.Ignore("docker-registry is not installed (apt-get install docker-registry; .ci/run does)");
        }

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var name = tokens is null ? "registry" : "registry-token";
        var storage = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        var config = Path.Combine(directory, name + ".yml");
        var auth = tokens is null ? "" : $"""

            auth:
              token:
                realm: {tokens.Realm}
                service: {TokenServer.Service}
                issuer: {TokenServer.Issuer}
                rootcertbundle: {tokens.CertificateBundle}
            """;
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {storage}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """ + auth.Replace("\n            ", "\n", StringComparison.Ordinal));
        var stop = new CancellationTokenSource();
        var log = new System.Text.StringBuilder();
        var process = Cli.Wrap("docker-registry").WithArguments(["serve", config]).WithValidation(CommandResultValidation.None)
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(log)).WithStandardOutputPipe(PipeTarget.ToStringBuilder(log))
            .ExecuteAsync(stop.Token);
        using var http = new HttpClient();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                var status = (await http.GetAsync($"http://127.0.0.1:{port}/v2/")).StatusCode;
                if (status is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return new RegistryServer(storage, port, process, stop);
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        await stop.CancelAsync();
        throw new InvalidOperationException($"docker-registry did not start: {log}");
    }

    /// <summary>Pushes an OCI layout's image with skopeo (the peer tool), as REPO:TAG.</summary>
    public async Task PushAsync(string layout, string layoutTag, string repositoryAndTag, string? credentials = null)
    {
        var result = await Cli.Wrap("skopeo")
            .WithArguments(["copy", "--quiet", "--dest-tls-verify=false", .. credentials is null ? Array.Empty<string>() : ["--dest-creds", credentials],
                $"oci:{layout}:{layoutTag}", $"docker://{Address}/{repositoryAndTag}"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _process;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
