using System.Formats.Tar;
using System.Text;

namespace Ci.Isolation.Tests.Images;

/// <summary>Builds real layer tars (PAX format, as Docker and BuildKit write them) for the tests.</summary>
internal sealed class LayerTar
{
    private readonly List<Action<TarWriter>> _entries = [];

    public LayerTar Dir(string name, UnixFileMode mode = (UnixFileMode)0b111_101_101, int uid = 0) =>
        Add(w => w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode, Uid = uid, Gid = uid }));

    public LayerTar File(string name, string content, UnixFileMode mode = (UnixFileMode)0b110_100_100, int uid = 0,
        Dictionary<string, string>? pax = null, DateTimeOffset? mtime = null) => Add(w =>
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name, pax ?? new Dictionary<string, string>())
        {
            Mode = mode,
            Uid = uid,
            Gid = uid,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
        };
        if (mtime is { } t)
        {
            entry.ModificationTime = t;
        }

        w.WriteEntry(entry);
    });

    public LayerTar Symlink(string name, string target) =>
        Add(w => w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target }));

    public LayerTar HardLink(string name, string target) =>
        Add(w => w.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target }));

    public LayerTar Fifo(string name) => Add(w => w.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, name) { Mode = (UnixFileMode)0b110_100_100 }));

    public LayerTar CharDevice(string name, int major, int minor) =>
        Add(w => w.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, name) { DeviceMajor = major, DeviceMinor = minor, Mode = (UnixFileMode)0b110_110_110 }));

    public LayerTar Whiteout(string name)
    {
        var slash = name.LastIndexOf('/');
        return File(slash < 0 ? ".wh." + name : name[..(slash + 1)] + ".wh." + name[(slash + 1)..], "");
    }

    public LayerTar Opaque(string dir) => File(dir.TrimEnd('/') + "/.wh..wh..opq", "");

    public string WriteTo(string path)
    {
        using (var file = System.IO.File.Create(path))
        using (var writer = new TarWriter(file, TarEntryFormat.Pax))
        {
            foreach (var entry in _entries)
            {
                entry(writer);
            }
        }

        return path;
    }

    private LayerTar Add(Action<TarWriter> entry)
    {
        _entries.Add(entry);
        return this;
    }
}
