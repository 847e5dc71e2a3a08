using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>The container's network namespace: join a shared one if asked, and bring loopback up.</summary>
internal static unsafe class Network
{
    private const int AfInet = 2, SockDgram = 2, SockCloexec = 0x80000;
    private const ulong SiocGifFlags = 0x8913, SiocSifFlags = 0x8914;
    private const short IffUp = 0x1;

    /// <summary>
    /// Joins the namespace in <paramref name="path"/>. setns applies to the calling thread only;
    /// the command is forked from this (main) thread and so starts in it.
    /// </summary>
    public static void Join(string path)
    {
        var fd = open(path, OCloexec, 0);
        InitException.Check(fd, $"open({path})");
        InitException.Check(setns(fd, CloneNewNet), $"setns({path}, CLONE_NEWNET)");
        _ = close(fd);
    }

    /// <summary>A new network namespace starts with lo down; "none" means loopback only, and up (as Docker does).</summary>
    public static void LoopbackUp()
    {
        var fd = socket(AfInet, SockDgram | SockCloexec, 0);
        InitException.Check(fd, "socket(AF_INET)");
        try
        {
            // struct ifreq: char ifr_name[16]; then a union whose first member here is short ifr_flags; 40 bytes in all.
            var ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            "lo"u8.CopyTo(new Span<byte>(ifreq, 16));
            InitException.Check(ioctl(fd, SiocGifFlags, ifreq), "ioctl(lo, SIOCGIFFLAGS)");
            *(short*)(ifreq + 16) |= IffUp;
            InitException.Check(ioctl(fd, SiocSifFlags, ifreq), "ioctl(lo, SIOCSIFFLAGS)");
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>
    /// ICMP echo sockets for every group, so ping works without CAP_NET_RAW (Podman's default).
    /// Per network namespace: /proc/sys/net shows the namespace of the thread that reads it, so
    /// the host's /proc, before pivot_root, is the right place.
    /// </summary>
    public static void AllowUnprivilegedPing() =>
        SmallFiles.WriteText("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
}
