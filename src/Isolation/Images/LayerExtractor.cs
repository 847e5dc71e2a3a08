using System.Formats.Tar;
using System.Text;
using Ci.Isolation.Containers;
using Ci.Isolation.Native;

namespace Ci.Isolation.Images;

/// <summary>
/// Unpacks one OCI layer tar into a directory that overlayfs can use as a lower layer. Whiteouts
/// (<c>.wh.NAME</c>) become 0/0 character devices and opaque markers (<c>.wh..wh..opq</c>) the
/// <c>trusted.overlay.opaque</c> xattr, so deletions stay deleted. Hard links, symbolic links,
/// devices, fifos, ownership, modes (setuid included), mtimes and xattrs survive. An entry whose
/// path leaves the layer, or goes through a symbolic link, is refused: nothing is ever written
/// outside the target directory.
/// </summary>
internal static class LayerExtractor
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const string XattrPrefix = "SCHILY.xattr.";

    public static void Extract(Stream tar, string root)
    {
        var directories = new List<(string Path, TarEntry Entry)>();
        using var reader = new TarReader(tar, leaveOpen: true);
        while (reader.GetNextEntry(copyData: false) is { } entry)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            var rel = Normalize(entry.Name) ?? throw Refused(entry.Name, "its path leaves the layer");
            if (rel.Length == 0)
            {
                directories.Add((root, entry));
                continue;
            }

            var slash = rel.LastIndexOf('/');
            var parent = EnsureDirectory(root, slash < 0 ? "" : rel[..slash], entry.Name);
            var name = rel[(slash + 1)..];
            if (name == OpaqueMarker)
            {
                Libc.Check(Libc.lsetxattr(parent, "trusted.overlay.opaque", "y"u8.ToArray(), 1, 0), $"setxattr({parent}, trusted.overlay.opaque)");
                continue;
            }

            if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                var hidden = Path.Combine(parent, name[WhiteoutPrefix.Length..]);
                Remove(hidden);
                Libc.Check(Libc.mknod(hidden, Libc.SIfchr, 0), $"mknod(whiteout {hidden})");
                continue;
            }

            var path = Path.Combine(parent, name);
            Write(entry, path, root);
            if (entry.EntryType == TarEntryType.Directory)
            {
                directories.Add((path, entry));
            }
            else if (entry.EntryType is not (TarEntryType.SymbolicLink or TarEntryType.HardLink))
            {
                SetMetadata(path, entry);
            }
        }

        // Directories last, deepest first: a read-only directory must not stop the writes into it.
        foreach (var (path, entry) in directories.OrderByDescending(d => d.Path.Length))
        {
            SetMetadata(path, entry);
        }
    }

    private static void Write(TarEntry entry, string path, string root)
    {
        var existing = new FileInfo(path);
        var isDirectory = existing.Exists == false && Directory.Exists(path) && existing.LinkTarget is null;
        if (!(entry.EntryType == TarEntryType.Directory && isDirectory))
        {
            Remove(path);
        }

        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                Directory.CreateDirectory(path);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    entry.DataStream?.CopyTo(file);
                }

                break;
            case TarEntryType.SymbolicLink:
                // The link's text is kept as is; it is never followed while unpacking.
                File.CreateSymbolicLink(path, entry.LinkName);
                Libc.Check(Libc.lchown(path, (uint)entry.Uid, (uint)entry.Gid), $"lchown({path})");
                break;
            case TarEntryType.HardLink:
                var target = Normalize(entry.LinkName) is { Length: > 0 } t ? t : throw Refused(entry.Name, $"its hard link target '{entry.LinkName}' leaves the layer");
                var slash = target.LastIndexOf('/');
                var targetPath = Path.Combine(EnsureDirectory(root, slash < 0 ? "" : target[..slash], entry.Name), target[(slash + 1)..]);
                Libc.Check(Libc.link(targetPath, path), $"link({entry.LinkName} → {entry.Name})");
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                var posix = (PosixTarEntry)entry;
                var type = entry.EntryType switch
                {
                    TarEntryType.CharacterDevice => Libc.SIfchr,
                    TarEntryType.BlockDevice => Libc.SIfblk,
                    _ => Libc.SIfifo,
                };
                Libc.Check(Libc.mknod(path, type | ((uint)entry.Mode & 0xfff), Libc.Makedev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor)), $"mknod({entry.Name})");
                break;
            default:
                throw Refused(entry.Name, $"entries of type {entry.EntryType} are not supported in layers");
        }
    }

    private static void SetMetadata(string path, TarEntry entry)
    {
        // chown first: it clears setuid and setgid bits, which the chmod then sets.
        Libc.Check(Libc.lchown(path, (uint)entry.Uid, (uint)entry.Gid), $"lchown({path})");
        File.SetUnixFileMode(path, entry.Mode);
        if (entry is PaxTarEntry pax)
        {
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                if (key.StartsWith(XattrPrefix, StringComparison.Ordinal))
                {
                    var bytes = Encoding.Latin1.GetBytes(value);
                    Libc.Check(Libc.lsetxattr(path, key[XattrPrefix.Length..], bytes, (nuint)bytes.Length, 0), $"setxattr({path}, {key[XattrPrefix.Length..]})");
                }
            }
        }

        File.SetLastWriteTimeUtc(path, entry.ModificationTime.UtcDateTime);
    }

    /// <summary>
    /// The directory for an entry's parent, created when missing. Every component must be a real
    /// directory inside the layer: a symbolic link as a parent (a → /etc, then a/passwd) is refused.
    /// </summary>
    private static string EnsureDirectory(string root, string relative, string entryName)
    {
        var current = root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                throw Refused(entryName, $"its parent '{Path.GetRelativePath(root, current)}' is a symbolic link");
            }

            if (info.Exists)
            {
                File.Delete(current); // a file replaced by a directory in this layer
            }

            Directory.CreateDirectory(current);
        }

        return current;
    }

    private static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null && Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (info.Exists || info.LinkTarget is not null)
        {
            File.Delete(path);
        }
    }

    /// <summary>"./usr//bin/" → "usr/bin"; null when the path climbs out with "..".</summary>
    internal static string? Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            switch (part)
            {
                case "" or ".":
                    continue;
                case "..":
                    return null;
                default:
                    parts.Add(part);
                    break;
            }
        }

        return string.Join('/', parts);
    }

    private static IsolationException Refused(string entry, string why) => new($"layer entry '{entry}' refused: {why}");
}
