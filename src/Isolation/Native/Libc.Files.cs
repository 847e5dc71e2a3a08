using System.Runtime.InteropServices;

namespace Ci.Isolation.Native;

/// <summary>
/// The *at(2) calls that <see cref="Files.RootedDirectory"/> works with: every one takes a directory
/// file descriptor and one name, so no path string is ever resolved again on the host.
/// </summary>
internal static partial class Libc
{
    public const int AtFdcwd = -100;

    public const int ORdonly = 0, OWronly = 1, OCreat = 0x40, OExcl = 0x80, ONoctty = 0x100, ONonblock = 0x800,
        ODirectory = 0x10000, ONofollow = 0x20000, OCloexec = 0x80000, OPath = 0x200000;

    public const int AtSymlinkNofollow = 0x100, AtRemovedir = 0x200, AtEmptyPath = 0x1000;

    public const uint SIfmt = 0xf000, SIfdir = 0x4000, SIfreg = 0x8000, SIflnk = 0xa000, SIfsock = 0xc000;

    // RESOLVE_* flags of openat2(2): include/uapi/linux/openat2.h.
    public const ulong ResolveNoMagiclinks = 0x02, ResolveNoSymlinks = 0x04, ResolveBeneath = 0x08, ResolveInRoot = 0x10;

    public const int Enoent = 2, Eintr = 4, Eagain = 11, Eexist = 17, Exdev = 18, Enotdir = 20, Eisdir = 21, Enospc = 28, Eloop = 40;

    private const long SysOpenat2 = 437;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial long syscall(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    /// <summary>openat2(2): opens <paramref name="path"/> under <paramref name="dirfd"/> with the kernel's RESOLVE_* rules; -1 and errno on failure.</summary>
    public static unsafe int Openat2(int dirfd, string path, int flags, ulong resolve)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        var how = new OpenHow { Flags = (ulong)flags, Resolve = resolve };
        fixed (byte* p = bytes)
        {
            return (int)syscall(SysOpenat2, dirfd, p, &how, (nuint)sizeof(OpenHow));
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int mkdirat(int dirfd, string path, uint mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int mknodat(int dirfd, string path, uint mode, ulong dev);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int symlinkat(string target, int dirfd, string path);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int fchownat(int dirfd, string path, uint owner, uint group, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int fchmodat(int dirfd, string path, uint mode, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static unsafe partial int utimensat(int dirfd, string path, Timespec* times, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint readlinkat(int dirfd, string path, byte[] buffer, nuint size);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int fsetxattr(int fd, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int setxattr(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint fgetxattr(int fd, string name, byte[] value, nuint size);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int fstatat(int dirfd, string path, byte* buffer, int flags);

    /// <summary>fstatat(2) of one name in a directory, never following a final symbolic link (x86_64 struct stat); null when absent.</summary>
    public static unsafe FileStat? Fstatat(int dirfd, string name, out int errno)
    {
        var buffer = stackalloc byte[144];
        if (fstatat(dirfd, name, buffer, AtSymlinkNofollow | (name.Length == 0 ? AtEmptyPath : 0)) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        errno = 0;
        var rdev = *(ulong*)(buffer + 40);
        return new FileStat(
            Mode: *(uint*)(buffer + 24),
            Uid: *(uint*)(buffer + 28),
            Gid: *(uint*)(buffer + 32),
            Major: (uint)(((rdev >> 32) & 0xfffff000) | ((rdev >> 8) & 0xfff)),
            Minor: (uint)(((rdev >> 12) & 0xffffff00) | (rdev & 0xff)),
            Size: *(long*)(buffer + 48),
            Inode: *(ulong*)(buffer + 8),
            Device: *(ulong*)buffer,
            ModifiedSeconds: *(long*)(buffer + 88),
            ModifiedNanoseconds: *(long*)(buffer + 96),
            Links: *(ulong*)(buffer + 16));
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int statfs(string path, byte* buffer);

    /// <summary>statfs(2): the size and free space of the file system that holds <paramref name="path"/> (x86_64 struct statfs); null when it fails.</summary>
    public static unsafe (long TotalBytes, long AvailableBytes)? Statfs(string path)
    {
        var buffer = stackalloc byte[120];
        if (statfs(path, buffer) != 0)
        {
            return null;
        }

        var blockSize = *(long*)(buffer + 8); // f_bsize; then f_blocks, f_bfree, f_bavail
        return (*(long*)(buffer + 16) * blockSize, *(long*)(buffer + 32) * blockSize);
    }

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}

/// <summary>What fstatat(2) says of one entry.</summary>
internal readonly record struct FileStat(uint Mode, uint Uid, uint Gid, uint Major, uint Minor, long Size, ulong Inode, ulong Device,
    long ModifiedSeconds, long ModifiedNanoseconds, ulong Links)
{
    public uint Type => Mode & Libc.SIfmt;

    public bool IsDirectory => Type == Libc.SIfdir;

    public bool IsRegular => Type == Libc.SIfreg;

    public bool IsSymlink => Type == Libc.SIflnk;
}
