namespace Ci.Isolation.Containers;

/// <summary>
/// Docker's "-init" layer: a small read-only layer of the container's own, on top of the image,
/// that holds the mount points (/proc, /dev, /sys) and the files every container gets
/// (/etc/hostname, /etc/hosts, /etc/resolv.conf). Because they live below the writable layer,
/// a step's layer keeps only what the step itself changed: no mount-point stubs, and no empty
/// /etc/hosts baked into a built image.
/// </summary>
internal static class InitLayer
{
    public static string Create(string containerDir, ContainerSpec spec)
    {
        var layer = Path.Combine(containerDir, "i");
        foreach (var dir in (string[])["proc", "dev", "sys", "etc"])
        {
            Directory.CreateDirectory(Path.Combine(layer, dir));
        }

        File.WriteAllText(Path.Combine(layer, "etc/hostname"), spec.Hostname + "\n");
        File.WriteAllText(Path.Combine(layer, "etc/hosts"),
            $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{spec.Hostname}\n");
        File.WriteAllText(Path.Combine(layer, "etc/resolv.conf"), ResolvConf(spec.Network));
        return layer;
    }

    /// <summary>The host's resolver with the host's network; none otherwise (there is no route to a name server).</summary>
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

        return "# no name servers: this container has no network beyond loopback\n";
    }
}
