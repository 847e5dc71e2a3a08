using System.Text.Json;
using Ci.Isolation.Init;

namespace Ci.Isolation.Images;

/// <summary>What a prune removed.</summary>
public sealed record PruneResult(int Layers, int Blobs, long BytesFreed);

/// <summary>
/// Removes layers and blobs no image refers to, never a layer a running container stacks (its
/// image may be gone, its container not). Reports the space freed.
/// </summary>
public static class ImagePruner
{
    public static PruneResult Prune(ImageStore store, string stateDirectory)
    {
        var images = store.List();
        var keepLayers = images.SelectMany(i => i.Layers).Select(d => Digest.Parse(d).Short).ToHashSet(StringComparer.Ordinal);
        var keepBlobs = images.SelectMany(i => (i.LayerBlobs ?? []).Append(i.ConfigBlob)).OfType<BlobRef>().Select(b => Digest.Parse(b.Digest).Hex).ToHashSet(StringComparer.Ordinal);

        // Layers in use by containers that exist now, whoever runs them.
        var containers = Path.Combine(stateDirectory, "c");
        foreach (var spec in Directory.Exists(containers) ? Directory.EnumerateFiles(containers, "spec.json", SearchOption.AllDirectories) : [])
        {
            try
            {
                var init = JsonSerializer.Deserialize(File.ReadAllText(spec), InitJson.Default.InitSpec);
                keepLayers.UnionWith(init?.LowerDirs.Select(Path.GetFileName).OfType<string>() ?? []);
            }
            catch (Exception ex) when (ex is IOException or JsonException)
            {
                // A container ending right now: its directory is going away.
            }
        }

        foreach (var place in StoreDirectory.AbandonedTemporaryPlaces)
        {
            StoreDirectory.RemoveAbandoned(Path.Combine(stateDirectory, place));
        }

        // Interrupted downloads resume when the image is pulled again; one not touched for an hour is not being resumed.
        foreach (var partial in Directory.EnumerateFiles(store.Blobs.Root, "*.partial").Where(p => File.GetLastWriteTimeUtc(p) < DateTime.UtcNow.AddHours(-1)))
        {
            File.Delete(partial);
        }

        int layers = 0, blobs = 0;
        long freed = 0;
        var layerRoot = Path.Combine(stateDirectory, "l");
        foreach (var dir in Directory.Exists(layerRoot) ? Directory.EnumerateDirectories(layerRoot) : [])
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith('.') || keepLayers.Contains(name))
            {
                continue;
            }

            freed += DiskUsage.Of(dir);
            File.Delete(dir + ".digest"); // first: a layer without its record is never used, even if the removal stops halfway
            DiskUsage.Remove(dir);
            layers++;
        }

        foreach (var file in Directory.EnumerateFiles(store.Blobs.Root))
        {
            var name = Path.GetFileName(file);
            if (name.Length == 64 && !keepBlobs.Contains(name))
            {
                freed += new FileInfo(file).Length;
                File.Delete(file);
                blobs++;
            }
        }

        return new PruneResult(layers, blobs, freed);
    }
}
