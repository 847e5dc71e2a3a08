namespace Ci.Isolation.Networking;

/// <summary>How the runtime gives containers a private network with egress (<c>bridge</c>).</summary>
public sealed record NetworkOptions
{
    /// <summary>The addresses jobs get (one each, from the host-local IPAM); keep it clear of the host's own networks.</summary>
    public string Subnet { get; init; } = "10.213.0.0/16";

    /// <summary>
    /// Host-wide, whatever the state directory: the address leases (host-local IPAM) and the lock of the firewall
    /// rules. Every runner on the host draws from one pool, so two installations never hand out one address twice;
    /// under /run, the leases go with a reboot, as the namespaces that held them do.
    /// </summary>
    public string HostDirectory { get; init; } = "/run/runner-network";

    /// <summary>The CNI reference plugins (Debian: containernetworking-plugins).</summary>
    public string PluginDirectory { get; init; } = "/usr/lib/cni";

    /// <summary>iptables (either back end): the guard that keeps jobs off the host and metadata addresses.</summary>
    public string Iptables { get; init; } = "iptables";

    /// <summary>
    /// Addresses (CIDR) a job may reach that the guard otherwise blocks: the host's own addresses, link-local
    /// metadata services, other jobs. From the runner's configuration, never from a pipeline.
    /// </summary>
    public IReadOnlyList<string> Allow { get; init; } = [];
}

/// <summary>A port of the host forwarded to a container's port, as <c>docker run -p HOST:CONTAINER</c>.</summary>
public sealed record PortMapping(int HostPort, int ContainerPort, string Protocol = "tcp")
{
    /// <summary>Reads <c>HOST:CONTAINER[/tcp|/udp]</c>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static PortMapping Parse(string text)
    {
        var (ports, protocol) = text.Split('/') switch
        {
            [var p] => (p, "tcp"),
            [var p, var proto] when proto is "tcp" or "udp" => (p, proto),
            _ => throw new FormatException($"'{text}' is not HOST:CONTAINER[/tcp|/udp] (the protocol is tcp or udp)"),
        };
        var parts = ports.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var host) || !int.TryParse(parts[1], out var container)
            || host is < 1 or > 65535 || container is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' is not HOST:CONTAINER with two ports from 1 to 65535 (e.g. 8080:80)");
        }

        return new PortMapping(host, container, protocol);
    }

    public override string ToString() => $"{HostPort}:{ContainerPort}/{Protocol}";
}
