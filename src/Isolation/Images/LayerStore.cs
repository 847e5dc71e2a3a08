using System.IO.Compression;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>An unpacked layer: its DiffID (digest of the uncompressed tar) and the directory overlayfs stacks.</summary>
public sealed record Layer(Digest DiffId, string Path);

/// <summary>
/// Unpacked layers keyed by DiffID, each unpacked once and shared by every container. Directories
/// are named by the digest's first 16 hex digits (short paths keep many lower layers within the
/// one page of overlay mount options); the full digest is kept beside each. A layer is unpacked
/// under a temporary name and renamed into place only when complete and verified, so the store is
/// never half-written; concurrent imports of the same layer end with one copy.
/// </summary>
public sealed class LayerStore
{
    private readonly string _root;

    /// <summary>The directory that holds the layers, one directory each.</summary>
    public string Root => _root;

    public LayerStore(string stateDirectory)
    {
        _root = System.IO.Path.Combine(stateDirectory, "l");
        Directory.CreateDirectory(_root);
    }

    /// <summary>What one layer may unpack to (bytes, entries); past it the layer is refused.</summary>
    public UnpackLimits Limits { get; init; } = UnpackLimits.Default;

    public Layer? Find(Digest diffId)
    {
        var path = System.IO.Path.Combine(_root, diffId.Short);
        var recorded = DigestFile(path);
        return Directory.Exists(path) && File.Exists(recorded) && File.ReadAllText(recorded) == diffId.ToString()
            ? new Layer(diffId, path)
            : null;
    }

    /// <summary>
    /// Unpacks a layer tar (plain, gzip or zstd) and returns it. With <paramref name="expected"/>, a
    /// stream whose uncompressed digest differs is refused and nothing is kept. <paramref name="beforePlace"/>
    /// runs once the layer is unpacked and checked, before it takes its place in the store: a pull that
    /// unpacks while it downloads waits there for the blob's own digest, and a throw keeps nothing.
    /// </summary>
    public Layer Import(Stream stream, Digest? expected = null, Action? beforePlace = null)
    {
        if (expected is { } e && Find(e) is { } known)
        {
            return known;
        }

        var temp = StoreDirectory.TemporaryIn(_root);
        Directory.CreateDirectory(temp);
        try
        {
            Digest diffId;
            using (var hashing = new HashingStream(Decompress(stream)))
            {
                LayerExtractor.Extract(hashing, temp, Limits);
                diffId = hashing.Finish();
            }

            if (expected is { } want && want != diffId)
            {
                throw new IsolationException($"layer content does not match its digest: expected {want}, got {diffId}");
            }

            beforePlace?.Invoke();
            return Place(temp, diffId);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>
    /// Takes a directory already in overlayfs form (a finished container's upper directory) into
    /// the store as the layer <paramref name="diffId"/>, by rename: no copy, no re-extraction.
    /// </summary>
    public Layer Adopt(string directory, Digest diffId)
    {
        var layer = Place(directory, diffId);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        return layer;
    }

    /// <summary>
    /// Renames an unpacked directory into place as the layer <paramref name="diffId"/> and records
    /// its digest, under a lock per layer: whoever comes second (another pull, another runner)
    /// finds it there and keeps the first one. A directory without its record is a crash's leftover.
    /// </summary>
    private Layer Place(string directory, Digest diffId)
    {
        using var exclusive = Files.FileLock.Acquire(System.IO.Path.Combine(_root, diffId.Short + ".lock"), $"layer {diffId.Short}", removeOnRelease: true);
        if (Find(diffId) is { } existing)
        {
            return existing;
        }

        var final = System.IO.Path.Combine(_root, diffId.Short);
        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        Directory.Move(directory, final);
        var record = StoreDirectory.TemporaryName(DigestFile(final));
        File.WriteAllText(record, diffId.ToString());
        File.Move(record, DigestFile(final), overwrite: true);
        return new Layer(diffId, final);
    }

    /// <summary>A scratch directory on the store's file system (so <see cref="Adopt"/> can rename it in).</summary>
    public string NewScratchDirectory()
    {
        var path = StoreDirectory.TemporaryIn(_root);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string DigestFile(string layerPath) => layerPath + ".digest";

    /// <summary>Picks the decompressor from the first bytes: read and sought back from a file, read and given again from a download.</summary>
    private static Stream Decompress(Stream stream)
    {
        var magic = new byte[4];
        var start = stream.CanSeek ? stream.Position : 0;
        var peek = stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (stream.CanSeek)
        {
            stream.Position = start;
        }
        else
        {
            stream = new PrefixedStream(magic[..peek], stream);
        }

        var buffered = new BufferedStream(stream, 1 << 16);
        if (peek >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return new GZipStream(buffered, CompressionMode.Decompress);
        }

        if (peek == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            // OCI's tar+zstd: ZstdSharp, a managed port of the reference library (no native code to ship).
            return new ZstdSharp.DecompressionStream(buffered);
        }

        return buffered;
    }
}
