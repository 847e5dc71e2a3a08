using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>
/// Imports images saved as files: <c>docker save</c> archives, OCI archives and OCI layout
/// directories. Every blob is checked against its digest and every layer against the config's
/// DiffID before the image is recorded; a mismatch or a broken archive records nothing.
/// </summary>
public static class ArchiveImporter
{
    private const string OciIndex = "index.json";
    private const string DockerManifest = "manifest.json";

    /// <summary>True when <paramref name="path"/> is an OCI layout directory, or a tar holding an image archive rather than a root file system.</summary>
    public static bool IsImageArchive(string path)
    {
        if (Directory.Exists(path))
        {
            return File.Exists(Path.Combine(path, OciIndex));
        }

        try
        {
            using var file = File.OpenRead(path);
            using var reader = new TarReader(file);
            for (var i = 0; i < 10_000 && reader.GetNextEntry() is { } entry; i++)
            {
                if (LayerExtractor.Normalize(entry.Name) is OciIndex or DockerManifest or "oci-layout")
                {
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            // Not a plain tar (a gzip root file system, say): not an image archive.
        }

        return false;
    }

    public static Image Import(string path, ImageReference? name, ImageStore store)
    {
        var dir = path;
        string? temp = null;
        try
        {
            if (!Directory.Exists(path))
            {
                // Staged inside the state directory (not /tmp): a killed import leaves it where the start-up clean-up finds it.
                temp = StoreDirectory.TemporaryIn(Directory.CreateDirectory(Path.Combine(store.StateDirectory, "tmp")).FullName, "import");
                UnpackArchive(path, temp);
                dir = temp;
            }

            return File.Exists(Path.Combine(dir, DockerManifest))
                ? ImportDocker(dir, name, store)
                : ImportOci(dir, name, store);
        }
        catch (JsonException ex)
        {
            throw new IsolationException($"{path}: malformed image metadata: {ex.Message}", ex);
        }
        finally
        {
            if (temp is not null && Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    private static Image ImportDocker(string dir, ImageReference? name, ImageStore store)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(RegularFileIn(dir, DockerManifest, DockerManifest)))!.AsArray();
        var entry = manifest.FirstOrDefault() ?? throw new IsolationException("manifest.json lists no image");
        var configFile = InArchive(dir, (string)entry["Config"]!);
        var layerFiles = entry["Layers"]!.AsArray().Select(l => InArchive(dir, (string)l!)).ToList();
        var tag = name ?? (entry["RepoTags"]?.AsArray().FirstOrDefault() is { } t ? ImageReference.Parse((string)t!) : null)
            ?? throw new IsolationException("the archive names no image; give one with --tag");
        return Record(configFile, layerFiles.Select(f => (f, OciConfig.LayerTar)).ToList(), tag, store);
    }

    private static Image ImportOci(string dir, ImageReference? name, ImageStore store)
    {
        var index = JsonNode.Parse(File.ReadAllText(RegularFileIn(dir, OciIndex, OciIndex)))!;
        var descriptor = index["manifests"]?.AsArray().FirstOrDefault() ?? throw new IsolationException("index.json lists no manifest");
        var refName = (string?)descriptor["annotations"]?["org.opencontainers.image.ref.name"];
        var manifest = Blob(dir, descriptor);
        while (manifest["manifests"] is JsonArray nested)
        {
            // An image index: take the manifest for this host's platform.
            descriptor = nested.FirstOrDefault(m => (string?)m!["platform"]?["os"] == "linux" && (string?)m["platform"]?["architecture"] == "amd64")
                ?? throw new IsolationException("the image index has no linux/amd64 manifest");
            manifest = Blob(dir, descriptor);
        }

        var configFile = BlobPath(dir, manifest["config"]!, verify: true);
        var layers = manifest["layers"]!.AsArray().Select(l => (BlobPath(dir, l!, verify: true), (string?)l!["mediaType"] ?? OciConfig.LayerTar)).ToList();
        var tag = name ?? (refName is null ? null : ImageReference.Parse(refName.Contains(':', StringComparison.Ordinal) ? refName : "localhost/import:" + refName))
            ?? throw new IsolationException("the layout names no image; give one with --tag");
        return Record(configFile, layers, tag, store);
    }

    private static Image Record(string configFile, List<(string File, string MediaType)> layerFiles, ImageReference name, ImageStore store)
    {
        var (diffIds, imageConfig) = OciConfig.Parse(JsonNode.Parse(File.ReadAllText(configFile))!);
        if (diffIds.Count != layerFiles.Count)
        {
            throw new IsolationException($"the config lists {diffIds.Count} layers and the manifest {layerFiles.Count}");
        }

        var blobs = new List<BlobRef>();
        for (var i = 0; i < diffIds.Count; i++)
        {
            using (var file = File.OpenRead(layerFiles[i].File))
            {
                store.Layers.Import(file, diffIds[i]);
            }

            // Docker archives hold uncompressed layers; whatever the form, the blob is kept as it came, for pushing.
            blobs.Add(new BlobRef(store.Blobs.Add(layerFiles[i].File).ToString(), Docker(layerFiles[i].MediaType), new FileInfo(layerFiles[i].File).Length));
        }

        var configBlob = store.Blobs.Add(configFile);
        var image = new Image(name.ToString(), diffIds.Select(d => d.ToString()).ToList(), imageConfig, DateTimeOffset.UtcNow)
        {
            ConfigBlob = new BlobRef(configBlob.ToString(), OciConfig.MediaType, new FileInfo(configFile).Length),
            LayerBlobs = blobs,
        };
        store.Save(image);
        return image;
    }

    /// <summary>Docker media types are interchangeable with OCI ones; the store records the OCI names.</summary>
    private static string Docker(string mediaType) => mediaType switch
    {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => OciConfig.LayerGzip,
        "application/vnd.docker.image.rootfs.diff.tar" => OciConfig.LayerTar,
        _ => mediaType,
    };

    private static JsonNode Blob(string dir, JsonNode descriptor) => JsonNode.Parse(File.ReadAllText(BlobPath(dir, descriptor, verify: true)))!;

    private static string BlobPath(string dir, JsonNode descriptor, bool verify)
    {
        var digest = Digest.Parse((string?)descriptor["digest"] ?? throw new IsolationException("a descriptor has no digest"));
        var path = RegularFileIn(dir, $"blobs/sha256/{digest.Hex}", $"blob {digest}");

        if (verify)
        {
            using var file = File.OpenRead(path);
            var actual = Convert.ToHexStringLower(SHA256.HashData(file));
            if (actual != digest.Hex)
            {
                throw new IsolationException($"blob {digest} is corrupt: its content hashes to sha256:{actual}");
            }
        }

        return path;
    }

    private static string InArchive(string dir, string relative) =>
        LayerExtractor.Normalize(relative) is { Length: > 0 } rel ? RegularFileIn(dir, rel, $"'{relative}'") : throw new IsolationException($"archive path '{relative}' leaves the archive");

    /// <summary>
    /// The path of a regular file of the archive or layout, checked through <see cref="Files.RootedDirectory"/>: a layout
    /// directory is input too, and a link in it (blobs → /etc) must not make a host file part of an image.
    /// </summary>
    private static string RegularFileIn(string dir, string relative, string what)
    {
        using var tree = Files.RootedDirectory.Open(dir);
        return tree.Stat(relative) switch
        {
            { Kind: Files.EntryKind.File } => Path.Combine(dir, relative),
            null => throw new IsolationException($"{what} is missing from the archive"),
            var other => throw new IsolationException($"{what} ('{relative}') is a {other.Kind}, not a regular file; refused (an image is never read through a link)"),
        };
    }

    /// <summary>Unpacks the archive's files (only files and directories; nothing leaves the target).</summary>
    private static void UnpackArchive(string path, string target)
    {
        // The archive is input too: its files are written through the primitive, so no entry can reach outside the staging directory.
        using var tree = Files.RootedDirectory.Open(target, create: true);
        using var file = File.OpenRead(path);
        using var reader = new TarReader(file);
        while (reader.GetNextEntry() is { } entry)
        {
            var rel = LayerExtractor.Normalize(entry.Name) ?? throw new IsolationException($"archive entry '{entry.Name}' leaves the archive");
            if (rel.Length == 0)
            {
                continue;
            }

            if (entry.EntryType == TarEntryType.Directory)
            {
                tree.CreateDirectory(rel);
            }
            else if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                using var output = tree.CreateFile(rel, replace: true);
                entry.DataStream?.CopyTo(output);
            }
            else if (entry.EntryType == TarEntryType.SymbolicLink && !entry.LinkName.StartsWith('/') && LayerExtractor.Normalize(Path.Combine(Path.GetDirectoryName(rel) ?? "", entry.LinkName)) is { Length: > 0 } linked)
            {
                // docker save writes layer.tar links between identical layers; copy the target instead of linking.
                using var source = tree.OpenRead(linked) ?? throw new IsolationException($"archive entry '{entry.Name}' links to '{entry.LinkName}', which is not a file of the archive");
                using var output = tree.CreateFile(rel, replace: true);
                source.CopyTo(output);
            }
        }
    }
}
