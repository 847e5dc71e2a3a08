using System.Runtime.InteropServices;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// Assembles the container's root and pivots into it, in runc's order: root mount, volumes,
/// /dev, /sys, pivot_root, then the masked /sys paths. /proc is mounted later by the first
/// process of the new PID namespace (<see cref="ProcFilesystem"/>).
/// </summary>
internal static class RootFilesystem
{
    // Docker's defaults (moby daemon/pkg/oci/defaults.go), the /sys half.
    private static readonly string[] MaskedDirs = ["/sys/firmware", "/sys/devices/virtual/powercap"];

    private static readonly (string Name, uint Major, uint Minor)[] Devices =
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

    public static void Assemble(InitSpec spec)
    {
        var root = spec.RootDirectory;
        if (spec.LowerDirs.Count > 0)
        {
            // nodev: a device node that an image layer carries (or a step makes) cannot be opened. On cgroup v2 there is no
            // device controller to refuse it; only the container's own /dev (a separate tmpfs) holds usable nodes.
            InitException.Check(mount("overlay", root, "overlay", MsNodev, OverlayOptions(spec)), $"mount(overlay → {root}, {spec.LowerDirs.Count} layers)");
        }
        else
        {
            // pivot_root needs the new root to be a mount point.
            InitException.Check(mount(root, root, null, MsBind | MsRec, null), $"mount(bind {root})");
        }

        foreach (var m in spec.Mounts)
        {
            var target = Paths.InRoot(root, m.Target);
            Paths.EnsureLike(m.Source, target);
            InitException.Check(mount(m.Source, target, null, MsBind | MsRec, null), $"mount(bind {m.Source} → {m.Target})");
            if (m.ReadOnly)
            {
                InitException.Check(mount(null, target, null, MsBind | MsRemount | MsRdonly | MsNosuid | MsNodev, null), $"remount({m.Target}, ro)");
            }
        }

        foreach (var o in spec.Overlays)
        {
            var target = Paths.InRoot(root, o.Target);
            Directory.CreateDirectory(target);
            var options = $"lowerdir={string.Join(':', o.Lowers)},upperdir={o.Upper},workdir={o.Work}";
            InitException.Check(mount("overlay", target, "overlay", MsNodev | MsNosuid, options), $"mount(overlay → {o.Target}, {o.Lowers.Count} layers)");
        }

        Directory.CreateDirectory(Paths.InRoot(root, "/proc"));
        MountDev(Paths.InRoot(root, "/dev"));
        MountSys(Paths.InRoot(root, "/sys"), spec.HostNetwork);

        PivotInto(root);
        MaskSys();
        if (spec.ReadOnlyRoot)
        {
            InitException.Check(mount(null, "/", null, MsBind | MsRemount | MsRdonly, null), "remount(/, ro)");
        }
    }

    /// <summary>
    /// The overlay options, which mount(2) takes in one page. With many layers, lower directories
    /// are given relative to their common parent, after a chdir there (the kernel resolves them
    /// against the caller's working directory): 17 bytes a layer instead of ~60, so 200 fit.
    /// </summary>
    private static string OverlayOptions(InitSpec spec)
    {
        const int PageBudget = 4000;
        var lowers = spec.LowerDirs;
        var tail = $",upperdir={spec.UpperDir},workdir={spec.WorkDir}";
        var length = "lowerdir=".Length + tail.Length;
        foreach (var l in lowers)
        {
            length += l.Length + 1;
        }

        if (length > PageBudget)
        {
            // The image's layers share the store's directory; the container's own init layer does not and stays absolute.
            var parent = Path.GetDirectoryName(lowers[^1]);
            if (parent is not null)
            {
                InitException.Check(chdir(parent), $"chdir({parent})");
                var relative = new List<string>(lowers.Count);
                foreach (var l in lowers)
                {
                    relative.Add(Path.GetDirectoryName(l) == parent ? Path.GetFileName(l) : l);
                }

                lowers = relative;
            }
        }

        var options = $"lowerdir={string.Join(':', lowers)}{tail}";
        if (options.Length > PageBudget)
        {
            throw new InvalidOperationException($"{spec.LowerDirs.Count} layers do not fit in one page of overlay options ({options.Length} bytes); keep layers in one directory");
        }

        return options;
    }

    private static void MountDev(string dev)
    {
        Directory.CreateDirectory(dev);
        InitException.Check(mount("tmpfs", dev, "tmpfs", MsNosuid | MsStrictatime, "mode=755,size=65536k"), "mount(tmpfs → /dev)");
        var oldMask = umask(0);
        try
        {
            foreach (var (name, major, minor) in Devices)
            {
                InitException.Check(mknod($"{dev}/{name}", SIfchr | 0x1b6, Makedev(major, minor)), $"mknod(/dev/{name})");
            }
        }
        finally
        {
            _ = umask(oldMask);
        }

        foreach (var (link, target) in new[] { ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx") })
        {
            InitException.Check(symlink(target, $"{dev}/{link}"), $"symlink(/dev/{link})");
        }

        Directory.CreateDirectory($"{dev}/pts");
        InitException.Check(mount("devpts", $"{dev}/pts", "devpts", MsNosuid | MsNoexec, "newinstance,ptmxmode=0666,mode=0620,gid=5"), "mount(devpts → /dev/pts)");
        Directory.CreateDirectory($"{dev}/shm");
        InitException.Check(mount("shm", $"{dev}/shm", "tmpfs", MsNosuid | MsNoexec | MsNodev, "mode=1777,size=65536k"), "mount(tmpfs → /dev/shm)");
        Directory.CreateDirectory($"{dev}/mqueue");
        InitException.Check(mount("mqueue", $"{dev}/mqueue", "mqueue", MsNosuid | MsNoexec | MsNodev, null), "mount(mqueue → /dev/mqueue)");
    }

    private static void MountSys(string sys, bool hostNetwork)
    {
        Directory.CreateDirectory(sys);
        const ulong Flags = MsNosuid | MsNoexec | MsNodev | MsRdonly;
        // A fresh sysfs has no submounts: none of the host's cgroup hierarchies (/sys/fs/cgroup/*) is reachable, whatever the
        // network. With the host's network, root may still mount it (it owns the network namespace).
        if (mount("sysfs", sys, "sysfs", Flags, null) == 0)
        {
            return;
        }

        if (!hostNetwork)
        {
            throw new InitException("mount(sysfs → /sys)", Marshal.GetLastPInvokeError());
        }

        // Where sysfs may not be mounted (a user namespace that does not own the host's network), bind the host's /sys as
        // runc does, and make every submount read-only too: a recursive bind keeps each submount's own flags, and a
        // read-write /sys/fs/cgroup/pids would let a step leave its limits or rewrite other cgroups'.
        InitException.Check(mount("/sys", sys, null, MsBind | MsRec, null), "mount(bind /sys)");
        foreach (var target in MountPointsUnder(sys))
        {
            InitException.Check(mount(null, target, null, MsBind | MsRemount | Flags, null), $"remount({target}, ro)");
        }
    }

    /// <summary>The mount points at or under <paramref name="directory"/>, outermost first, from /proc/self/mountinfo.</summary>
    private static List<string> MountPointsUnder(string directory)
    {
        var found = new List<string>();
        foreach (var line in SmallFiles.ReadText("/proc/self/mountinfo").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var point = line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal);
            if (point == directory || point.StartsWith(directory + "/", StringComparison.Ordinal))
            {
                found.Add(point);
            }
        }

        return found;
    }

    private static void PivotInto(string root)
    {
        InitException.Check(chdir(root), $"chdir({root})");
        // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then removes it (runc's trick).
        InitException.Check(syscall(SysPivotRoot, s_dot, s_dot, 0), "pivot_root(.)");
        InitException.Check(mount(null, ".", null, MsSlave | MsRec, null), "mount(., rslave)");
        InitException.Check(umount2(".", MntDetach), "umount2(old root)");
        InitException.Check(chdir("/"), "chdir(/)");
    }

    private static void MaskSys()
    {
        foreach (var dir in MaskedDirs)
        {
            if (Directory.Exists(dir))
            {
                InitException.Check(mount("tmpfs", dir, "tmpfs", MsRdonly, "nr_blocks=1,nr_inodes=1"), $"mask({dir})");
            }
        }
    }

    /// <summary>"." as a C string, made once: the launcher pivots every container's root with it (made per call, it leaked per container).</summary>
    private static readonly unsafe long s_dot = (long)ProcFilesystem.Utf8(".");
}
