using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Ci.Isolation.Native;

/// <summary>
/// The *at(2) calls that <see cref="Files.RootedDirectory"/> works with: every one takes a directory
/// file descriptor and one name, so no path string is ever resolved again on the host. Tmds.LibC's
/// bindings, except those in Libc.Own.cs.
/// </summary>
internal static partial class Libc
{
    public const int AtFdcwd = -100;

    public const int ORdonly = 0, OWronly = 1, OCreat = 0x40, OExcl = 0x80, OTrunc = 0x200, ONoctty = 0x100, ONonblock = 0x800,
        ODirectory = 0x10000, ONofollow = 0x20000, OCloexec = 0x80000, OPath = 0x200000;

    public const int AtSymlinkNofollow = 0x100, AtRemovedir = 0x200, AtEmptyPath = 0x1000;

    public const uint SIfmt = 0xf000, SIfdir = 0x4000, SIfreg = 0x8000, SIflnk = 0xa000, SIfsock = 0xc000;

    // RESOLVE_* flags of openat2(2): include/uapi/linux/openat2.h.
    public const ulong ResolveNoMagiclinks = 0x02, ResolveNoSymlinks = 0x04, ResolveBeneath = 0x08, ResolveInRoot = 0x10;

    public const int Enoent = 2, Eintr = 4, Eagain = 11, Eexist = 17, Exdev = 18, Enotdir = 20, Eisdir = 21, Enospc = 28, Eloop = 40;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static unsafe int openat(int dirfd, string path, int flags, uint mode)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.openat(dirfd, p, flags, (ushort)mode);
        }
    }

    public static int close(int fd) => LibC.close(fd);

    public static unsafe int mkdirat(int dirfd, string path, uint mode)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.mkdirat(dirfd, p, (ushort)mode);
        }
    }

    public static unsafe int mknodat(int dirfd, string path, uint mode, ulong dev)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.mknodat(dirfd, p, (ushort)mode, dev);
        }
    }

    public static unsafe int symlinkat(string target, int dirfd, string path)
    {
        fixed (byte* t = Utf8(target))
        fixed (byte* p = Utf8(path))
        {
            return LibC.symlinkat(t, dirfd, p);
        }
    }

    public static unsafe int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags)
    {
        fixed (byte* o = Utf8(oldpath))
        fixed (byte* n = Utf8(newpath))
        {
            return LibC.linkat(olddirfd, o, newdirfd, n, flags);
        }
    }

    public static unsafe int unlinkat(int dirfd, string path, int flags)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.unlinkat(dirfd, p, flags);
        }
    }

    public static unsafe int fchownat(int dirfd, string path, uint owner, uint group, int flags)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.fchownat(dirfd, p, owner, group, flags);
        }
    }

    public static int fchmod(int fd, uint mode) => LibC.fchmod(fd, (ushort)mode);

    public static unsafe int fchmodat(int dirfd, string path, uint mode, int flags)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.fchmodat(dirfd, p, (ushort)mode, flags);
        }
    }

    /// <summary>utimensat(2) with our two-field <see cref="Timespec"/>, which has Tmds.Linux.timespec's layout on x86_64.</summary>
    public static unsafe int utimensat(int dirfd, string path, Timespec* times, int flags)
    {
        fixed (byte* p = Utf8(path))
        {
            return LibC.utimensat(dirfd, p, (timespec*)times, flags);
        }
    }

    public static unsafe nint readlinkat(int dirfd, string path, byte[] buffer, nuint size)
    {
        fixed (byte* p = Utf8(path))
        fixed (byte* b = buffer)
        {
            return (nint)(long)LibC.readlinkat(dirfd, p, b, (size_t)(ulong)size);
        }
    }

    /// <summary>write(2) of all of <paramref name="bytes"/> (again after a short write or EINTR); 0, or -1 with errno set.</summary>
    public static unsafe int WriteAll(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* b = bytes)
        {
            var done = 0;
            while (done < bytes.Length)
            {
                var n = (long)LibC.write(fd, b + done, (size_t)(ulong)(bytes.Length - done));
                if (n < 0 && LastError == Eintr)
                {
                    continue;
                }

                if (n < 0)
                {
                    return -1;
                }

                done += (int)n;
            }

            return 0;
        }
    }

    /// <summary>fstatat(2) of one name in a directory, never following a final symbolic link; null when absent.</summary>
    public static unsafe FileStat? Fstatat(int dirfd, string name, out int errno)
    {
        stat stat;
        int result;
        fixed (byte* p = Utf8(name))
        {
            result = LibC.fstatat(dirfd, p, &stat, AtSymlinkNofollow | (name.Length == 0 ? AtEmptyPath : 0));
        }

        if (result != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        errno = 0;
        ulong rdev = stat.st_rdev;
        return new FileStat(
            Mode: (ushort)stat.st_mode,
            Uid: stat.st_uid,
            Gid: stat.st_gid,
            Major: (uint)(((rdev >> 32) & 0xfffff000) | ((rdev >> 8) & 0xfff)),
            Minor: (uint)(((rdev >> 12) & 0xffffff00) | (rdev & 0xff)),
            Size: stat.st_size,
            Inode: stat.st_ino,
            Device: stat.st_dev,
            ModifiedSeconds: stat.st_mtim.tv_sec,
            ModifiedNanoseconds: stat.st_mtim.tv_nsec,
            Links: stat.st_nlink);
    }

    /// <summary>statvfs(3): the size and free space of the file system that holds <paramref name="path"/>; null when it fails.</summary>
    public static unsafe (long TotalBytes, long AvailableBytes)? Statfs(string path)
    {
        statvfs vfs;
        fixed (byte* p = Utf8(path))
        {
            if (LibC.statvfs(p, &vfs) != 0)
            {
                return null;
            }
        }

        long blockSize = (long)(ulong)vfs.f_frsize;
        return ((long)(ulong)vfs.f_blocks * blockSize, (long)(ulong)vfs.f_bavail * blockSize);
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
