using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>
/// The built-in image, which needs no download: the host's own system directories, read-only, on
/// a small skeleton layer of the runner's. /usr (and /bin, /lib… where they are not links into
/// it) and an allow-list of /etc are bound read-only; nothing else of the host is visible (not
/// its root as a whole, not /home, /root, /var or /etc/shadow), and nothing of it is writable.
/// Pipelines without <c>image:</c> run on it.
/// </summary>
public sealed class HostImage
{
    public const string Name = "runner:host";

    private static readonly string[] TopLevel = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    /// <summary>What of /etc a build needs and may see: users, the dynamic linker, certificates, time zone, alternatives.</summary>
    private static readonly string[] EtcAllowList =
    [
        "passwd", "group", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl",
        "ca-certificates", "ca-certificates.conf", "localtime", "timezone", "os-release", "debian_version", "lsb-release",
        "profile", "profile.d", "bash.bashrc", "environment", "mime.types", "protocols", "services", "gai.conf", "host.conf",
        "magic", "inputrc", "login.defs", "shells",
    ];

    private HostImage(string skeleton, IReadOnlyList<BindMount> mounts)
    {
        Skeleton = skeleton;
        Mounts = mounts;
    }

    /// <summary>The skeleton layer (empty top-level directories and the host's /bin → usr/bin style links).</summary>
    public string Skeleton { get; }

    /// <summary>Read-only bind mounts of the host's system directories and allowed /etc entries.</summary>
    public IReadOnlyList<BindMount> Mounts { get; }

    public ImageConfig Config => ImageConfig.Default with { Cmd = ["/bin/sh"] };

    /// <summary>Finds or makes the skeleton under the state directory (once; atomically) and lists the mounts.</summary>
    public static HostImage Open(string stateDirectory)
    {
        var skeleton = Path.Combine(stateDirectory, "host");
        if (!Directory.Exists(skeleton))
        {
            var temp = StoreDirectory.TemporaryName(skeleton);
            Build(temp);
            StoreDirectory.Publish(temp, skeleton);
        }

        var mounts = new List<BindMount> { new("/usr", "/usr", ReadOnly: true) };
        foreach (var dir in TopLevel)
        {
            var host = "/" + dir;
            if (Directory.Exists(host) && new DirectoryInfo(host).LinkTarget is null)
            {
                mounts.Add(new BindMount(host, host, ReadOnly: true));
            }
        }

        foreach (var entry in EtcAllowList)
        {
            var host = "/etc/" + entry;
            if (Path.Exists(host))
            {
                mounts.Add(new BindMount(host, host, ReadOnly: true));
            }
        }

        return new HostImage(skeleton, mounts);
    }

    private static void Build(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var sub in (string[])["usr", "etc", "home", "var", "run", "opt", "mnt", "srv", "workspace"])
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }

        const UnixFileMode Sticky = (UnixFileMode)0b1_111_111_111;
        Directory.CreateDirectory(Path.Combine(dir, "tmp"), Sticky);
        File.SetUnixFileMode(Path.Combine(dir, "tmp"), Sticky);
        Directory.CreateDirectory(Path.Combine(dir, "var", "tmp"));
        File.SetUnixFileMode(Path.Combine(dir, "var", "tmp"), Sticky);
        Directory.CreateDirectory(Path.Combine(dir, "root"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var top in TopLevel)
        {
            // Merged-/usr hosts have /bin → usr/bin and so on: the skeleton has the same links; real directories are bound instead.
            if (new DirectoryInfo("/" + top).LinkTarget is { } target)
            {
                File.CreateSymbolicLink(Path.Combine(dir, top), target);
            }
        }
    }
}
