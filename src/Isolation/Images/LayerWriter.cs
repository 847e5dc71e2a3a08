using System.Formats.Tar;
using Ci.Isolation.Native;

namespace Ci.Isolation.Images;

/// <summary>
/// Writes a directory in overlayfs form (a container's upper directory, a built layer) as an OCI
/// layer tar: 0/0 character devices become <c>.wh.NAME</c> whiteouts and directories marked
/// opaque get a <c>.wh..wh..opq</c> entry. Entries are sorted and owners, modes and link targets
/// kept, so the same tree gives the same content.
/// </summary>
public static class LayerWriter
{
    private const uint TypeMask = 0xf000, Regular = 0x8000, Directory = 0x4000, Symlink = 0xa000, CharDevice = 0x2000, BlockDevice = 0x6000, Fifo = 0x1000;

    /// <param name="skip">Relative paths to leave out (mount points the runtime created).</param>
    public static void Write(string root, Stream output, IReadOnlySet<string>? skip = null)
    {
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        WriteDirectory(writer, root, "", skip ?? new HashSet<string>());
    }

    private static void WriteDirectory(TarWriter writer, string root, string relative, IReadOnlySet<string> skip)
    {
        var full = relative.Length == 0 ? root : Path.Combine(root, relative);
        foreach (var path in System.IO.Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            var rel = relative.Length == 0 ? name : relative + "/" + name;
            if (skip.Contains(rel))
            {
                continue;
            }

            var (mode, uid, gid, major, minor) = Libc.Lstat(path);
            var perms = (UnixFileMode)(mode & 0xfff);
            var time = File.GetLastWriteTimeUtc(path);
            switch (mode & TypeMask)
            {
                case CharDevice when major == 0 && minor == 0:
                    var whiteout = (relative.Length == 0 ? "" : relative + "/") + ".wh." + name;
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, whiteout) { Mode = (UnixFileMode)0b110_100_100, ModificationTime = time });
                    break;
                case Directory:
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, rel + "/") { Mode = perms, Uid = (int)uid, Gid = (int)gid, ModificationTime = time });
                    var opaque = new byte[1];
                    if (Libc.lgetxattr(path, "trusted.overlay.opaque", opaque, 1) == 1 && opaque[0] == (byte)'y')
                    {
                        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, rel + "/.wh..wh..opq") { Mode = (UnixFileMode)0b110_100_100, ModificationTime = time });
                    }

                    WriteDirectory(writer, root, rel, skip);
                    break;
                case Regular:
                    using (var data = File.OpenRead(path))
                    {
                        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, rel) { Mode = perms, Uid = (int)uid, Gid = (int)gid, ModificationTime = time, DataStream = data });
                    }

                    break;
                case Symlink:
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, rel) { LinkName = new FileInfo(path).LinkTarget!, Uid = (int)uid, Gid = (int)gid, ModificationTime = time });
                    break;
                case CharDevice or BlockDevice:
                    writer.WriteEntry(new PaxTarEntry((mode & TypeMask) == CharDevice ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, rel)
                    {
                        Mode = perms, Uid = (int)uid, Gid = (int)gid, DeviceMajor = (int)major, DeviceMinor = (int)minor, ModificationTime = time,
                    });
                    break;
                case Fifo:
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, rel) { Mode = perms, Uid = (int)uid, Gid = (int)gid, ModificationTime = time });
                    break;
            }
        }
    }
}
