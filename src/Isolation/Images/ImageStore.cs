using System.Text.Json;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>
/// Named images over the <see cref="LayerStore"/>: one JSON record per name, written to a
/// temporary file and renamed, so a crash never leaves a half-written record.
/// </summary>
public sealed class ImageStore
{
    private readonly string _root;

    public ImageStore(string stateDirectory, LayerStore layers)
    {
        StateDirectory = stateDirectory;
        _root = Path.Combine(stateDirectory, "i");
        Layers = layers;
        Blobs = new BlobStore(stateDirectory);
        Directory.CreateDirectory(_root);
    }

    public LayerStore Layers { get; }

    /// <summary>The runner's state directory, which holds this store.</summary>
    public string StateDirectory { get; }

    /// <summary>The original blobs (layers as compressed by their source, configs), kept for pushing.</summary>
    public BlobStore Blobs { get; }

    public Image? Find(ImageReference reference)
    {
        var file = FileFor(reference.ToString());
        return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllText(file), ImageJson.Default.Image) : null;
    }

    public IReadOnlyList<Image> List() =>
        Directory.EnumerateFiles(_root, "*.json")
            .Select(f => JsonSerializer.Deserialize(File.ReadAllText(f), ImageJson.Default.Image)!)
            .OrderBy(i => i.Name, StringComparer.Ordinal)
            .ToList();

    public void Save(Image image)
    {
        // A temporary name of its own: two pulls of one image may save it at the same moment.
        var file = FileFor(image.Name);
        var temp = StoreDirectory.TemporaryName(file);
        File.WriteAllText(temp, JsonSerializer.Serialize(image, ImageJson.Default.Image));
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>Records that a container was started from the image now (the automatic clean-up removes the longest unused first).</summary>
    public void Touch(Image image)
    {
        var file = FileFor(image.Name);
        if (File.Exists(file))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
        }
    }

    /// <summary>When a container was last started from the image (or when it was stored).</summary>
    public DateTime LastUsed(Image image) => File.GetLastWriteTimeUtc(FileFor(image.Name));

    public bool Remove(ImageReference reference)
    {
        var file = FileFor(reference.ToString());
        if (!File.Exists(file))
        {
            return false;
        }

        File.Delete(file);
        return true;
    }

    /// <summary>A plain root file system tarball (plain or gzip) as a one-layer image with the default config.</summary>
    public Image ImportRootfs(string tarPath, ImageReference name)
    {
        Layer layer;
        bool gzip;
        using (var file = File.OpenRead(tarPath))
        {
            gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
            file.Position = 0;
            layer = Layers.Import(file);
        }

        // Keep the tarball as the layer blob and write the OCI config a registry needs, so the image can be pushed as is.
        var layerBlob = Blobs.Add(tarPath);
        var config = OciConfig.Write(ImageConfig.Default, [layer.DiffId]);
        var configBlob = Blobs.Add(config);
        var image = new Image(name.ToString(), [layer.DiffId.ToString()], ImageConfig.Default, DateTimeOffset.UtcNow)
        {
            ConfigBlob = new BlobRef(configBlob.ToString(), OciConfig.MediaType, config.Length),
            LayerBlobs = [new BlobRef(layerBlob.ToString(), gzip ? OciConfig.LayerGzip : OciConfig.LayerTar, new FileInfo(tarPath).Length)],
        };
        Save(image);
        return image;
    }

    /// <summary>The image's layer directories, top first, as a container stacks them.</summary>
    public IReadOnlyList<string> LayerPaths(Image image) => LayerPaths(image.Layers, $"image {image.Name}");

    /// <summary>
    /// The directories of a layer chain (DiffIDs, base first) as a container stacks them, top first: the one
    /// resolution of layers for images, builds and jobs. <paramref name="owner"/> names the chain in the error.
    /// </summary>
    public IReadOnlyList<string> LayerPaths(IEnumerable<string> diffIds, string owner) =>
        diffIds.Reverse()
            .Select(d => Layers.Find(Digest.Parse(d))?.Path
                ?? throw new IsolationException($"{owner} needs layer {d}, which is not in the store; import or pull the image again"))
            .ToList();

    private string FileFor(string name) => Path.Combine(_root, Uri.EscapeDataString(name) + ".json");
}
