using Ci.Isolation.Native;
using Microsoft.Win32.SafeHandles;

namespace Ci.Isolation.Files;

public sealed partial class RootedDirectory
{
    /// <summary>Makes a directory and any missing parent (0755), each a real directory; with <paramref name="replace"/> a file or link in the way goes.</summary>
    public void CreateDirectory(string relative, bool replace = false)
    {
        using var _ = OpenDirectory(Split(relative), relative, create: true, replace) ?? throw Failure("mkdir", relative, Libc.Enoent);
    }

    /// <summary>
    /// Creates a regular file (never opening an existing entry, never through a link) and returns
    /// it for writing. With <paramref name="replace"/> an entry of that name goes first (a
    /// directory with all it holds).
    /// </summary>
    public FileStream CreateFile(string relative, UnixFileMode mode = (UnixFileMode)0x1a4, bool replace = false) =>
        new(CreateRegular(relative, mode, replace), FileAccess.Write, 1 << 16);

    /// <summary>
    /// <see cref="CreateFile"/> with the bytes of <paramref name="content"/> and then <paramref name="metadata"/> (as
    /// <see cref="SetMetadata(string, EntryMetadata)"/> gives it), all through the one descriptor that created the file: an unpacking's file costs
    /// its creation, its writes, three calls for its metadata and its close.
    /// </summary>
    public void WriteFile(string relative, Stream? content, EntryMetadata metadata, bool replace = false)
    {
        using var file = CreateRegular(relative, (UnixFileMode)0x180, replace);
        if (content is not null)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                int read;
                while ((read = content.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
                {
                    Check(Libc.WriteAll(Fd(file), buffer.AsSpan(0, read)), "write", relative);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        SetMetadata(file, metadata, relative);
    }

    private SafeFileHandle CreateRegular(string relative, UnixFileMode mode, bool replace)
    {
        var (parent, name) = OpenParent(relative, create: true);
        using (parent)
        {
            var fd = CreateEntry(parent!, name, relative, replace, "create",
                (at, n) => Libc.openat(at, n, Libc.OWronly | Libc.OCreat | Libc.OExcl | Libc.ONofollow | Libc.OCloexec, (uint)mode & 0x1ff));
            return new SafeFileHandle(fd, ownsHandle: true);
        }
    }

    /// <summary>
    /// Makes a new entry with <paramref name="create"/> (a call that fails with EEXIST on any entry of that name, a link
    /// included); with <paramref name="replace"/>, an entry in the way is removed and the call made again. Returns its result.
    /// </summary>
    private int CreateEntry(DirectoryLease parent, string name, string relative, bool replace, string operation, Func<int, string, int> create)
    {
        var result = create(parent.Fd, name);
        if (result < 0 && Libc.LastError == Libc.Eexist && replace)
        {
            RemoveEntry(parent.Fd, name, relative);
            result = create(parent.Fd, name);
        }

        return result >= 0 ? result : throw Failure(operation, relative, Libc.LastError);
    }

    /// <summary>Creates a symbolic link; its text is kept as it is and never followed here.</summary>
    public void CreateSymbolicLink(string relative, string target, bool replace = false)
    {
        var (parent, name) = OpenParent(relative, create: true);
        using (parent)
        {
            CreateEntry(parent!, name, relative, replace, "symlink", (at, n) => Libc.symlinkat(target, at, n));
        }
    }

    /// <summary>A hard link at <paramref name="relative"/> to the entry at <paramref name="existing"/>, both in this tree (a link is linked as the link).</summary>
    public void CreateHardLink(string relative, string existing, bool replace = false)
    {
        DirectoryLease? source;
        string sourceName;
        try
        {
            (source, sourceName) = OpenParent(existing, create: false);
        }
        catch (UnsafePathException ex) when (ex.Component is not null)
        {
            throw new UnsafePathException(Path, relative, $"its hard link target '{existing}' goes through '{ex.Component}', which is {ex.Kind}");
        }

        using (source)
        {
            if (source is null || Libc.Fstatat(Fd(source), sourceName, out _) is not { } stat)
            {
                throw new UnsafePathException(Path, relative, $"its hard link target '{existing}' is not in the tree");
            }

            if (stat.IsDirectory)
            {
                throw new UnsafePathException(Path, relative, $"its hard link target '{existing}' is a directory");
            }

            var (parent, name) = OpenParent(relative, create: true);
            using (parent)
            {
                CreateEntry(parent!, name, relative, replace, "link", (at, n) => Libc.linkat(Fd(source), sourceName, at, n, 0));
            }
        }
    }

    /// <summary>A device node, fifo or whiteout (a 0/0 character device); needs CAP_MKNOD.</summary>
    public void CreateNode(string relative, EntryKind kind, UnixFileMode mode, uint major = 0, uint minor = 0, bool replace = false)
    {
        var type = kind switch
        {
            EntryKind.CharacterDevice => Libc.SIfchr,
            EntryKind.BlockDevice => Libc.SIfblk,
            EntryKind.Fifo => Libc.SIfifo,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "only devices and fifos are nodes"),
        };
        var (parent, name) = OpenParent(relative, create: true);
        using (parent)
        {
            CreateEntry(parent!, name, relative, replace, "mknod", (at, n) => Libc.mknodat(at, n, type | ((uint)mode & 0xfff), Libc.Makedev(major, minor)));
        }
    }

    /// <summary>Marks a path deleted in overlayfs form (a 0/0 character device), replacing what is there.</summary>
    public void CreateWhiteout(string relative) => CreateNode(relative, EntryKind.CharacterDevice, 0, replace: true);

    /// <summary>Removes an entry (a directory with everything in it), never following a link; nothing when it is absent.</summary>
    public void Remove(string relative)
    {
        var (parent, name) = OpenParent(relative, create: false);
        using (parent)
        {
            if (parent is not null)
            {
                RemoveEntry(Fd(parent), name, relative);
            }
        }
    }

    /// <summary>
    /// Gives an entry its owner, mode (setuid and setgid included: chown clears them, so chmod
    /// comes after), extended attributes and time. Directories and files are changed through a
    /// descriptor opened with O_NOFOLLOW; a link keeps its mode (links have none).
    /// </summary>
    public void SetMetadata(string relative, EntryMetadata metadata)
    {
        var names = Split(relative);
        if (names.Length == 0)
        {
            SetMetadata(_root, metadata, relative);
            return;
        }

        var (parent, name) = OpenParent(relative, create: false);
        using (parent)
        {
            if (parent is null || Libc.Fstatat(Fd(parent), name, out _) is not { } stat)
            {
                throw Failure("stat", relative, Libc.Enoent);
            }

            if (stat.IsDirectory || stat.IsRegular)
            {
                var fd = Libc.openat(Fd(parent), name, Libc.ORdonly | Libc.ONofollow | Libc.OCloexec | Libc.ONonblock | Libc.ONoctty, 0);
                if (fd < 0)
                {
                    throw Failure("open", relative, Libc.LastError);
                }

                using var handle = new SafeFileHandle(fd, ownsHandle: true);
                SetMetadata(handle, metadata, relative);
                return;
            }

            // Links, devices, fifos, sockets: by name, never following; the mode through an O_PATH descriptor of the entry itself.
            Check(Libc.fchownat(Fd(parent), name, metadata.Uid, metadata.Gid, Libc.AtSymlinkNofollow), "chown", relative);
            if (!stat.IsSymlink || metadata.Xattrs.Count > 0) // a link has no mode of its own: without xattrs, nothing to open it for
            {
                var path = Libc.openat(Fd(parent), name, Libc.OPath | Libc.ONofollow | Libc.OCloexec, 0);
                if (path < 0)
                {
                    throw Failure("open", relative, Libc.LastError);
                }

                using var entry = new SafeFileHandle(path, ownsHandle: true);
                var proc = $"/proc/self/fd/{path}";
                if (!stat.IsSymlink)
                {
                    Check(Libc.fchmodat(Libc.AtFdcwd, proc, (uint)metadata.Mode & 0xfff, 0), "chmod", relative);
                }

                foreach (var (key, value) in metadata.Xattrs)
                {
                    // setxattr follows the magic link to the entry itself (the link, for a link), not further.
                    Check(Libc.setxattr(proc, key, value, (nuint)value.Length, 0), $"setxattr {key}", relative);
                }
            }

            SetTime(Fd(parent), name, metadata.ModifiedUtc, relative);
        }
    }

    private void SetMetadata(SafeFileHandle handle, EntryMetadata metadata, string relative)
    {
        Check(Libc.fchownat(Fd(handle), "", metadata.Uid, metadata.Gid, Libc.AtEmptyPath), "chown", relative);
        Check(Libc.fchmod(Fd(handle), (uint)metadata.Mode & 0xfff), "chmod", relative);
        foreach (var (key, value) in metadata.Xattrs)
        {
            Check(Libc.fsetxattr(Fd(handle), key, value, (nuint)value.Length, 0), $"setxattr {key}", relative);
        }

        SetTime(Fd(handle), "", metadata.ModifiedUtc, relative);
    }

    private unsafe void SetTime(int fd, string name, DateTime modifiedUtc, string relative)
    {
        var ticks = (modifiedUtc.ToUniversalTime() - DateTime.UnixEpoch).Ticks;
        var times = stackalloc Libc.Timespec[2];
        times[0] = new Libc.Timespec { Seconds = 0, Nanoseconds = (1L << 30) - 2 }; // UTIME_OMIT: atime as it is
        times[1] = new Libc.Timespec { Seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest), Nanoseconds = rest * 100 };
        if (rest < 0)
        {
            times[1] = new Libc.Timespec { Seconds = times[1].Seconds - 1, Nanoseconds = (rest + TimeSpan.TicksPerSecond) * 100 };
        }

        Check(Libc.utimensat(fd, name, times, name.Length == 0 ? Libc.AtEmptyPath : Libc.AtSymlinkNofollow), "utimensat", relative);
    }

    /// <summary>
    /// Moves an entry (rename(2), so a file keeps its inode, bytes and metadata; a link stays the link) to
    /// <paramref name="targetRelative"/> of <paramref name="target"/>, a tree on the same file system, replacing what is there.
    /// </summary>
    public void MoveTo(string relative, RootedDirectory target, string targetRelative)
    {
        var (from, name) = OpenParent(relative, create: false);
        using (from)
        {
            var (to, targetName) = target.OpenParent(targetRelative, create: true);
            using (to)
            {
                if (from is null)
                {
                    throw Failure("rename", relative, Libc.Enoent);
                }

                target.RemoveEntry(Fd(to!), targetName, targetRelative);
                var directory = Libc.Fstatat(Fd(from), name, out _) is { IsDirectory: true };
                Check(Libc.renameat(Fd(from), name, Fd(to!), targetName), "rename", relative);
                if (directory)
                {
                    ForgetDirectories(); // the paths kept under it name nothing now, or another directory
                    target.ForgetDirectories();
                }
            }
        }
    }

    /// <summary>Sets an extended attribute on a directory of the tree (overlayfs' opaque marker).</summary>
    public void SetDirectoryXattr(string relative, string key, byte[] value)
    {
        using var dir = OpenDirectory(Split(relative), relative, create: false) ?? throw Failure("open", relative, Libc.Enoent);
        Check(Libc.fsetxattr(Fd(dir), key, value, (nuint)value.Length, 0), $"setxattr {key}", relative);
    }

    /// <summary>Removes one name from a directory: a directory's contents first, through descriptors, never following a link.</summary>
    private void RemoveEntry(int parent, string name, string relative)
    {
        if (Libc.Fstatat(parent, name, out _) is not { } stat)
        {
            return;
        }

        if (stat.IsDirectory)
        {
            var fd = Libc.openat(parent, name, Libc.ORdonly | Libc.ODirectory | Libc.ONofollow | Libc.OCloexec, 0);
            if (fd < 0)
            {
                throw Failure("open", relative, Libc.LastError);
            }

            using (var dir = new SafeFileHandle(fd, ownsHandle: true))
            {
                foreach (var child in Names(dir))
                {
                    RemoveEntry(fd, child, $"{relative}/{child}");
                }
            }

            Check(Libc.unlinkat(parent, name, Libc.AtRemovedir), "rmdir", relative, Libc.Enoent);
            ForgetDirectories();
            return;
        }

        Check(Libc.unlinkat(parent, name, 0), "unlink", relative, Libc.Enoent);
    }
}
