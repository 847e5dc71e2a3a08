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
    public static partial int link(string existing, string newPath);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int lchown(string path, uint owner, uint group);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int lsetxattr(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint lgetxattr(string path, string name, byte[] value, nuint size);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int lstat(string path, byte* buffer);

    /// <summary>The parts of lstat(2) .NET does not expose: type and mode, owner, device numbers (x86_64 struct stat).</summary>
    public static unsafe (uint Mode, uint Uid, uint Gid, uint Major, uint Minor) Lstat(string path)
    {
        var buffer = stackalloc byte[144];
        Check(lstat(path, buffer), $"lstat({path})");
        var rdev = *(ulong*)(buffer + 40);
        var major = (uint)(((rdev >> 32) & 0xfffff000) | ((rdev >> 8) & 0xfff));
        var minor = (uint)(((rdev >> 12) & 0xffffff00) | (rdev & 0xff));
        return (*(uint*)(buffer + 24), *(uint*)(buffer + 28), *(uint*)(buffer + 32), major, minor);
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
