namespace Ci.Isolation.Containers;

/// <summary>
/// Docker's "-init" layer: a small read-only layer of the container's own, on top of the image,
/// that holds the mount points (/proc, /dev, /sys) and the files every container gets
/// (/etc/hostname, /etc/hosts, /etc/resolv.conf). Because they live below the writable layer,
/// a step's layer keeps only what the step itself changed: no mount-point stubs, and no empty
/// /etc/hosts baked into a built image. Containers with the same files share one such layer
/// (STATE/init/HASH, written once, never written again), so a container start writes none of them.
/// </summary>
internal static class InitLayer
{
    public static string For(string stateDirectory, ContainerSpec spec)
    {
        var hostname = spec.Hostname + "\n";
        var hosts = $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{spec.Hostname}\n"
            + string.Concat(spec.ExtraHosts.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Value}\t{h.Key}\n"));
        var resolv = ResolvConf(spec.Network);
        var layer = Path.Combine(stateDirectory, "init", Fnv1a(hostname + "\0" + hosts + "\0" + resolv).ToString("x16"));
        if (Directory.Exists(layer))
        {
            return layer;
        }

        var temp = $"{layer}.tmp-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}";
        foreach (var dir in (string[])["proc", "dev", "sys", "etc"])
        {
            Directory.CreateDirectory(Path.Combine(temp, dir));
        }

        File.WriteAllText(Path.Combine(temp, "etc/hostname"), hostname);
        File.WriteAllText(Path.Combine(temp, "etc/hosts"), hosts);
        File.WriteAllText(Path.Combine(temp, "etc/resolv.conf"), resolv);
        Images.StoreDirectory.Publish(temp, layer);

        return layer;
    }

    /// <summary>FNV-1a, 64 bits: names the layer by its content without loading a cryptographic library at every start.</summary>
    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>The host's resolver with the host's network; a bridged network's reachable name servers; none otherwise.</summary>
    private static string ResolvConf(ContainerNetwork network)
    {
        if (network is ContainerNetwork.HostNetwork)
        {
            try
            {
                return File.ReadAllText("/etc/resolv.conf");
            }
            catch (IOException)
            {
                // No resolver on the host either.
            }
        }

        if (network is ContainerNetwork.SharedNetwork { Namespace.Nameservers: { Count: > 0 } servers })
        {
            return string.Concat(servers.Select(s => $"nameserver {s}\n"));
        }

        return "# no name servers: this container has no network beyond loopback\n";
    }
}
