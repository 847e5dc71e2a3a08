using Ci.Isolation.Native;
using Microsoft.Win32.SafeHandles;

namespace Ci.Isolation.Files;

/// <summary>How a read treats symbolic links on the way to a file.</summary>
public enum LinkResolution
{
    /// <summary>Any link on the way (or the file itself a link) means the file is not there.</summary>
    NoLinks,

    /// <summary>Links are followed while they stay inside the tree (openat2 RESOLVE_BENEATH); one that leads out means the file is not there.</summary>
    Beneath,
}

public sealed partial class RootedDirectory
{
    /// <summary>What is at <paramref name="relative"/>, the entry itself when it is a link; null when absent or behind a link or a non-directory.</summary>
    public EntryInfo? Stat(string relative)
    {
        var names = Split(relative);
        if (names.Length == 0)
        {
            return Libc.Fstatat(Fd(_root), "", out _) is { } self ? EntryInfo.From(self) : null;
        }

        using var parent = TryOpenDirectory(names.AsSpan(0, names.Length - 1), relative);
        return parent is not null && Libc.Fstatat(Fd(parent), names[^1], out _) is { } stat ? EntryInfo.From(stat) : null;
    }

    /// <summary>The entries of a directory of the tree (names and what each is, links not followed), in ordinal order; empty when it is not a real directory.</summary>
    public IReadOnlyList<(string Name, EntryInfo Info)> List(string relative)
    {
        using var dir = TryOpenDirectory(Split(relative), relative);
        if (dir is null)
        {
            return [];
        }

        var entries = new List<(string, EntryInfo)>();
        foreach (var name in Names(dir.Handle))
        {
            if (Libc.Fstatat(Fd(dir), name, out _) is { } stat)
            {
                entries.Add((name, EntryInfo.From(stat)));
            }
        }

        return entries;
    }

    /// <summary>
    /// Every entry under <paramref name="relative"/>, depth first in ordinal order, with its path
    /// relative to it; directories are listed, then entered (those <paramref name="enter"/> takes, when
    /// given); links are listed, never entered.
    /// </summary>
    public IEnumerable<(string Path, EntryInfo Info)> Walk(string relative = "", Func<string, bool>? enter = null)
    {
        var pending = new Stack<string>();
        pending.Push("");
        var start = string.Join('/', Split(relative));
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            var entries = List(start.Length == 0 ? dir : dir.Length == 0 ? start : $"{start}/{dir}");
            for (var i = entries.Count - 1; i >= 0; i--)
            {
                var path = dir.Length == 0 ? entries[i].Name : $"{dir}/{entries[i].Name}";
                if (entries[i].Info.Kind == EntryKind.Directory && (enter is null || enter(path)))
                {
                    pending.Push(path);
                }
            }

            foreach (var (name, info) in entries)
            {
                yield return (dir.Length == 0 ? name : $"{dir}/{name}", info);
            }
        }
    }

    /// <summary>The text of a symbolic link of the tree.</summary>
    public string ReadLink(string relative)
    {
        var (parent, name) = OpenParent(relative, create: false);
        using (parent)
        {
            var buffer = new byte[4096];
            var length = parent is null ? -1 : Libc.readlinkat(Fd(parent), name, buffer, (nuint)buffer.Length);
            return length >= 0 ? System.Text.Encoding.UTF8.GetString(buffer, 0, (int)length) : throw Failure("readlink", relative, parent is null ? Libc.Enoent : Libc.LastError);
        }
    }

    /// <summary>
    /// Opens a regular file for reading; null when there is none at that path under the rule of
    /// <paramref name="links"/>. A fifo, device or socket is never opened (reading one could
    /// block forever or reach the host's hardware): it counts as absent.
    /// </summary>
    public FileStream? OpenRead(string relative, LinkResolution links = LinkResolution.NoLinks)
    {
        var names = Split(relative);
        if (names.Length == 0)
        {
            return null;
        }

        var resolve = Libc.ResolveBeneath | Libc.ResolveNoMagiclinks | (links == LinkResolution.NoLinks ? Libc.ResolveNoSymlinks : 0);
        var flags = Libc.ORdonly | Libc.OCloexec | Libc.ONonblock | Libc.ONoctty | (links == LinkResolution.NoLinks ? Libc.ONofollow : 0);
        int fd;
        do
        {
            fd = Libc.Openat2(Fd(_root), string.Join('/', names), flags, resolve);
        }
        while (fd < 0 && Libc.LastError is Libc.Eagain or Libc.Eintr);

        if (fd < 0)
        {
            return Libc.LastError is Libc.Enoent or Libc.Eloop or Libc.Exdev or Libc.Enotdir or Libc.Eisdir ? null : throw Failure("open", relative, Libc.LastError);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Libc.Fstatat(fd, "", out _) is not { IsRegular: true })
        {
            handle.Dispose();
            return null;
        }

        return new FileStream(handle, FileAccess.Read, 1 << 16);
    }

    /// <summary>An extended attribute of a real directory of the tree (overlayfs' opaque marker); null when unset.</summary>
    public byte[]? GetDirectoryXattr(string relative, string key)
    {
        using var dir = TryOpenDirectory(Split(relative), relative);
        if (dir is null)
        {
            return null;
        }

        var buffer = new byte[256];
        var length = Libc.fgetxattr(Fd(dir), key, buffer, (nuint)buffer.Length);
        return length >= 0 ? buffer[..(int)length] : null;
    }

    /// <summary>Opens a directory of the tree for reading, or null when a name on the way is missing, a link or not a directory.</summary>
    private DirectoryLease? TryOpenDirectory(ReadOnlySpan<string> names, string relative)
    {
        try
        {
            return OpenDirectory(names, relative, create: false);
        }
        catch (UnsafePathException)
        {
            return null;
        }
    }

    /// <summary>The names in an open directory (not "." or ".."), read through the descriptor's /proc link so no path is resolved again.</summary>
    internal static List<string> Names(SafeFileHandle directory)
    {
        var names = new List<string>();
        var options = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false, ReturnSpecialDirectories = false };
        foreach (var path in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{Fd(directory)}", "*", options))
        {
            names.Add(System.IO.Path.GetFileName(path));
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }
}
