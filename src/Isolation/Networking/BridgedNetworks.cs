using System.Text.Json;
using System.Text.Json.Nodes;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Networking;

/// <summary>
/// Gives a network namespace a private address with egress, through the CNI reference plugins:
/// <c>ptp</c> (a veth pair routed by the host, an address from <c>host-local</c> IPAM, NAT out)
/// and, for published ports, <c>portmap</c>. ptp rather than <c>bridge</c>: with no bridge between
/// them, every packet between two jobs is routed by the host and so passes the <see cref="HostGuard"/>
/// (a Linux bridge forwards between its ports without iptables unless br_netfilter is loaded for
/// the whole host). Before ADD, a record of the chain is written beside the namespace file, so
/// that DEL can release the address, the host's interface and the NAT and port rules even after
/// the runner was killed (<see cref="RemoveLeftover"/>).
/// </summary>
internal sealed class BridgedNetworks(NetworkOptions options)
{
    private const string RecordSuffix = ".cni";
    private readonly CniPlugin _plugins = new(options.PluginDirectory);
    private readonly HostGuard _guard = new(options);

    private string LockPath => Path.Combine(Directory.CreateDirectory(options.HostDirectory).FullName, "firewall.lock");

    /// <summary>Attaches <paramref name="ns"/>: returns its address. On failure, what was made is released.</summary>
    public async Task<string> AttachAsync(string ns, IReadOnlyList<PortMapping> ports, CancellationToken cancellationToken)
    {
        // The guard is checked (or installed) while the plugins run: it must stand before a container starts, not before ADD.
        var guard = _guard.EnsureAsync(LockPath, cancellationToken);
        var id = Path.GetFileName(ns);
        var chain = Chain(ports);
        var record = new JsonObject { ["netns"] = ns, ["plugins"] = new JsonArray([.. chain.Select(c => c.DeepClone())]) };
        await File.WriteAllTextAsync(ns + RecordSuffix, record.ToJsonString(), CancellationToken.None);
        string? address = null;
        try
        {
            JsonObject? previous = null;
            foreach (var config in chain)
            {
                var input = (JsonObject)config.DeepClone();
                if (previous is not null)
                {
                    input["prevResult"] = previous;
                }

                previous = await _plugins.AddAsync(input, id, ns, cancellationToken);
                address ??= AddressOf(previous);
            }

            if (address is null)
            {
                throw new IsolationException("CNI ptp gave the namespace no IPv4 address");
            }

            // The address is recorded before its exceptions are allowed: a runner killed in between must not leave an
            // exception that a later job given the same address would inherit (the release forgets them by the record).
            record["address"] = address;
            await File.WriteAllTextAsync(ns + RecordSuffix, record.ToJsonString(), CancellationToken.None);
            await guard;
            await _guard.AllowAsync(address, cancellationToken);
            return address;
        }
        catch
        {
            await guard.ContinueWith(_ => { }, TaskScheduler.Default); // observed: its failure, if any, is not the first
            await DetachAsync(ns, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Releases what <see cref="AttachAsync"/> made, in reverse order; the namespace file itself is the caller's.</summary>
    public async Task DetachAsync(string ns, CancellationToken cancellationToken)
    {
        var recordPath = ns + RecordSuffix;
        if (!File.Exists(recordPath))
        {
            return;
        }

        JsonObject record;
        try
        {
            record = JsonNode.Parse(await File.ReadAllTextAsync(recordPath, cancellationToken))!.AsObject();
        }
        catch (JsonException)
        {
            // Killed while the record was written: ADD had not started, so there is nothing to release.
            File.Delete(recordPath);
            return;
        }

        var id = Path.GetFileName(ns);
        if ((string?)record["address"] is { } address)
        {
            await _guard.ForgetAsync(address, cancellationToken);
        }

        foreach (var config in record["plugins"]!.AsArray().Reverse())
        {
            await _plugins.DeleteAsync(config!.AsObject(), id, ns, cancellationToken);
        }

        File.Delete(recordPath);
    }

    /// <summary>For a dead runner's namespace file: releases its CNI attachment, if it had one.</summary>
    public void RemoveLeftover(string ns) => DetachAsync(ns, CancellationToken.None).GetAwaiter().GetResult();

    public static bool IsRecord(string path) => path.EndsWith(RecordSuffix, StringComparison.Ordinal);

    /// <summary>The namespace file a record belongs to (which may be gone).</summary>
    public static string NamespaceOf(string record) => record[..^RecordSuffix.Length];

    private List<JsonObject> Chain(IReadOnlyList<PortMapping> ports)
    {
        List<JsonObject> chain =
        [
            new()
            {
                ["cniVersion"] = CniPlugin.Version,
                ["name"] = "runner",
                ["type"] = "ptp",
                ["ipMasq"] = false, // the guard's one standing MASQUERADE rule for the subnet does it
                ["ipam"] = new JsonObject
                {
                    ["type"] = "host-local",
                    ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = options.Subnet })),
                    ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
                    ["dataDir"] = Path.Combine(options.HostDirectory, "ipam"),
                },
            },
        ];
        if (ports.Count > 0)
        {
            chain.Add(new JsonObject
            {
                ["cniVersion"] = CniPlugin.Version,
                ["name"] = "runner",
                ["type"] = "portmap",
                ["capabilities"] = new JsonObject { ["portMappings"] = true },
                ["snat"] = true,
                ["runtimeConfig"] = new JsonObject
                {
                    ["portMappings"] = new JsonArray([.. ports.Select(p => (JsonNode)new JsonObject
                    {
                        ["hostPort"] = p.HostPort, ["containerPort"] = p.ContainerPort, ["protocol"] = p.Protocol,
                    })]),
                },
            });
        }

        return chain;
    }

    /// <summary>The IPv4 address (without prefix) of a CNI result.</summary>
    private static string? AddressOf(JsonObject result) =>
        result["ips"] is JsonArray ips
            ? ips.Select(ip => ((string?)ip?["address"])?.Split('/')[0]).FirstOrDefault(a => a is not null && a.Contains('.', StringComparison.Ordinal))
            : null;

    /// <summary>The host's name servers that a job can reach: those of /etc/resolv.conf that are not on the host's loopback.</summary>
    public static IReadOnlyList<string> Nameservers()
    {
        try
        {
            return File.ReadLines("/etc/resolv.conf")
                .Select(l => l.Trim().Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                .Where(w => w is ["nameserver", _, ..] && !w[1].StartsWith("127.", StringComparison.Ordinal) && w[1] != "::1")
                .Select(w => w[1])
                .ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }
}
