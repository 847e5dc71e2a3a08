using System.Runtime.InteropServices;

namespace Ci.Isolation.Native;

/// <summary>The few libc calls the runtime makes from the runner's own (multi-threaded) process; none forks.</summary>
internal static partial class Libc
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int MntDetach = 2;
    public const uint SIfchr = 0x2000, SIfblk = 0x6000, SIfifo = 0x1000;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int umount2(string target, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int lchown(string path, uint owner, uint group);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint lgetxattr(string path, string name, byte[] value, nuint size);

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
}
