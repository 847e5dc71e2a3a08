using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Ci.Isolation.Native;

/// <summary>
/// The libc calls the runtime makes from the runner's own (multi-threaded) process; none forks. Each is the
/// Tmds.LibC binding behind a string-taking wrapper. Bindings of our own only where Tmds.LibC has none
/// (see Libc.Own.cs); runner-init's path between fork and exec has its own static bindings (Init/Native.cs).
/// </summary>
internal static partial class Libc
{
    // ABI constants as compile-time constants (Tmds.LibC gives properties, which cannot be matched in a switch).
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int MntDetach = 2;
    public const uint SIfchr = 0x2000, SIfblk = 0x6000, SIfifo = 0x1000;

    public static int kill(int pid, int signal) => LibC.kill(pid, signal);

    /// <summary>unshare(2) of the calling thread: for CLONE_NEWNET, a new network namespace for this thread alone.</summary>
    public static int unshare(int flags) => LibC.unshare(flags);

    public const ulong MsBind = 4096;

    /// <summary>mount(2) of a bind: <paramref name="source"/> on <paramref name="target"/>.</summary>
    public static unsafe int BindMount(string source, string target)
    {
        fixed (byte* s = Utf8(source))
        fixed (byte* t = Utf8(target))
        {
            return LibC.mount(s, t, null, (uint)MsBind, null);
        }
    }

    /// <summary>setns(2): moves the calling thread (only it) into the namespace of <paramref name="fd"/>.</summary>
    public static int setns(int fd, int nstype) => LibC.setns(fd, nstype);

    public static unsafe int umount2(string target, int flags)
    {
        fixed (byte* p = Utf8(target))
        {
            return LibC.umount2(p, flags);
        }
    }

    public static unsafe int lchown(string path, uint owner, uint group)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.lchown(p, owner, group);
        }
    }

    /// <summary>The parts of lstat(2) .NET does not expose: type and mode, owner, device numbers (read by <see cref="Fstatat"/>, the one struct stat reader).</summary>
    public static (uint Mode, uint Uid, uint Gid, uint Major, uint Minor) Lstat(string path)
    {
        var stat = Fstatat(AtFdcwd, path, out var errno) ?? throw new Containers.IsolationException($"lstat({path}): {Describe(errno)}");
        return (stat.Mode, stat.Uid, stat.Gid, stat.Major, stat.Minor);
    }

    public static ulong Makedev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>Throws an <see cref="Containers.IsolationException"/> naming the call and the errno when a libc call failed.</summary>
    public static void Check(int result, string operation)
    {
        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Containers.IsolationException($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    /// <summary>A path as libc takes it: UTF-8, NUL-terminated.</summary>
    private static byte[] Utf8(string path) => System.Text.Encoding.UTF8.GetBytes(path + "\0");
}
