using System.Formats.Tar;
using System.Text;
using Ci.Isolation.Containers;
using Ci.Isolation.Files;

namespace Ci.Isolation.Images;

/// <summary>
/// Unpacks one OCI layer tar into a directory that overlayfs can use as a lower layer. Whiteouts
/// (<c>.wh.NAME</c>) become 0/0 character devices and opaque markers (<c>.wh..wh..opq</c>) the
/// <c>trusted.overlay.opaque</c> xattr, so deletions stay deleted. Hard links, symbolic links,
/// devices, fifos, ownership, modes (setuid included), mtimes and xattrs survive. Every write goes
/// through <see cref="RootedDirectory"/>: an entry whose path leaves the layer or goes through a
/// symbolic link is refused, and nothing is ever written, changed or deleted outside the target
/// directory (docs/adr/0004-hostile-trees.md).
/// </summary>
internal static class LayerExtractor
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const string XattrPrefix = "SCHILY.xattr.";

    /// <summary>Unpacks <paramref name="tar"/> into <paramref name="root"/>; <paramref name="limits"/> caps what it may write.</summary>
    public static void Extract(Stream tar, string root, UnpackLimits? limits = null)
    {
        string current = "";
        try
        {
            Extract(tar, root, limits ?? UnpackLimits.Default, name => current = name);
        }
        catch (UnsafePathException ex)
        {
            throw Refused(current, ex.Component is not null ? $"its parent {ex.Reason}" : ex.Reason);
        }
    }

    private static void Extract(Stream tar, string root, UnpackLimits limits, Action<string> reading)
    {
        using var tree = RootedDirectory.Open(root, keepDirectoriesOpen: true);
        var directories = new List<(string Path, TarEntry Entry)>();
        long bytes = 0, entries = 0;
        using var reader = new TarReader(tar, leaveOpen: true);
        while (reader.GetNextEntry(copyData: false) is { } entry)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            reading(entry.Name);
            if (++entries > limits.MaxEntries)
            {
                throw new IsolationException($"layer refused: more than {limits.MaxEntries} entries (the limit on what one layer may unpack)");
            }

            var rel = Normalize(entry.Name) ?? throw Refused(entry.Name, "its path leaves the layer");
            if (rel.Length == 0)
            {
                directories.Add(("", entry));
                continue;
            }

            var slash = rel.LastIndexOf('/');
            var parent = slash < 0 ? "" : rel[..slash];
            var name = rel[(slash + 1)..];
            if (parent.Length > 0)
            {
                tree.CreateDirectory(parent, replace: true); // a file replaced by a directory in this layer; a link in the way is refused
            }

            if (name == OpaqueMarker)
            {
                tree.SetDirectoryXattr(parent, "trusted.overlay.opaque", "y"u8.ToArray());
                continue;
            }

            if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                var hidden = name[WhiteoutPrefix.Length..];
                if (hidden is "" or "." or ".." || hidden.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    throw Refused(entry.Name, "it is a whiteout of no real name");
                }

                tree.CreateWhiteout(parent.Length == 0 ? hidden : $"{parent}/{hidden}");
                continue;
            }

            bytes += entry.Length;
            if (bytes > limits.MaxBytes)
            {
                throw new IsolationException($"layer refused: it unpacks to more than {FormatBytes(limits.MaxBytes)} (the limit on what one layer may unpack; " +
                    $"{UnpackLimits.MaxBytesVariable} raises it)");
            }

            Write(tree, entry, rel);
            if (entry.EntryType == TarEntryType.Directory)
            {
                directories.Add((rel, entry));
            }
            else if (entry.EntryType is not (TarEntryType.HardLink or TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
            {
                tree.SetMetadata(rel, Metadata(entry)); // a file was given its own as it was written
            }
        }

        // Directories last, deepest first: a read-only directory must not stop the writes into it. One that a later entry
        // replaced (by a link, say) is not a directory of the layer any more and is left alone.
        foreach (var (path, entry) in directories.OrderByDescending(d => d.Path.Length))
        {
            if (tree.Stat(path) is { Kind: EntryKind.Directory })
            {
                tree.SetMetadata(path, Metadata(entry));
            }
        }
    }

    private static void Write(RootedDirectory tree, TarEntry entry, string rel)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                // A directory replaces a file or link of the same name in this layer (the link itself goes, never what it
                // points to); an existing directory is kept, with what the layer already put in it.
                if (tree.Stat(rel) is { Kind: not EntryKind.Directory })
                {
                    tree.Remove(rel);
                }

                tree.CreateDirectory(rel);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                tree.WriteFile(rel, entry.DataStream, Metadata(entry), replace: true);
                break;
            case TarEntryType.SymbolicLink:
                // The link's text is kept as is; it is never followed while unpacking.
                tree.CreateSymbolicLink(rel, entry.LinkName, replace: true);
                break;
            case TarEntryType.HardLink:
                var target = Normalize(entry.LinkName) is { Length: > 0 } t ? t : throw Refused(entry.Name, $"its hard link target '{entry.LinkName}' leaves the layer");
                tree.CreateHardLink(rel, target, replace: true);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                var posix = (PosixTarEntry)entry;
                var kind = entry.EntryType switch
                {
                    TarEntryType.CharacterDevice => EntryKind.CharacterDevice,
                    TarEntryType.BlockDevice => EntryKind.BlockDevice,
                    _ => EntryKind.Fifo,
                };
                tree.CreateNode(rel, kind, entry.Mode, (uint)posix.DeviceMajor, (uint)posix.DeviceMinor, replace: true);
                break;
            default:
                throw Refused(entry.Name, $"entries of type {entry.EntryType} are not supported in layers");
        }
    }

    private static EntryMetadata Metadata(TarEntry entry)
    {
        var xattrs = new List<(string, byte[])>();
        if (entry is PaxTarEntry pax)
        {
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                // trusted.overlay.* steers overlayfs itself (redirects, metacopy): only the whiteout forms above may say it.
                if (key.StartsWith(XattrPrefix, StringComparison.Ordinal) && !key.StartsWith(XattrPrefix + "trusted.overlay.", StringComparison.Ordinal))
                {
                    xattrs.Add((key[XattrPrefix.Length..], Encoding.Latin1.GetBytes(value)));
                }
            }
        }

        return new EntryMetadata((uint)entry.Uid, (uint)entry.Gid, entry.Mode, entry.ModificationTime.UtcDateTime) { Xattrs = xattrs };
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

    private static string FormatBytes(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GiB" : $"{bytes >> 20} MiB";

    private static IsolationException Refused(string entry, string why) => new($"layer entry '{entry}' refused: {why}");
}
