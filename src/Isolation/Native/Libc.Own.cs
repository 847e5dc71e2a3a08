using System.Runtime.InteropServices;

namespace Ci.Isolation.Native;

/// <summary>
/// The bindings Tmds.LibC 0.5 does not have: openat2(2) (a raw system call with its own struct), renameat(2)
/// and the extended-attribute calls. Everything else in <see cref="Libc"/> goes through Tmds.LibC.
/// </summary>
internal static partial class Libc
{
    private const long SysOpenat2 = 437;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial long syscall(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    /// <summary>openat2(2): opens <paramref name="path"/> under <paramref name="dirfd"/> with the kernel's RESOLVE_* rules; -1 and errno on failure.</summary>
    public static unsafe int Openat2(int dirfd, string path, int flags, ulong resolve)
    {
        var how = new OpenHow { Flags = (ulong)flags, Resolve = resolve };
        fixed (byte* p = Utf8(path))
        {
            return (int)syscall(SysOpenat2, dirfd, p, &how, (nuint)sizeof(OpenHow));
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    public const int XOk = 1;

    /// <summary>access(2): for X_OK, also false on a file system mounted noexec, for root too.</summary>
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int access(string path, int mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint lgetxattr(string path, string name, byte[] value, nuint size);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int fsetxattr(int fd, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int setxattr(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint fgetxattr(int fd, string name, byte[] value, nuint size);
}
