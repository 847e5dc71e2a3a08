using Ci.Runner.Engine;
using Ci.Isolation.Images;

namespace Ci.Runner.Backends.Containers;

/// <summary>What an automatic clean-up did.</summary>
public sealed record CollectResult(IReadOnlyList<string> Removed, long BytesFreed, long BytesBefore, long BytesAfter);

/// <summary>
/// The automatic clean-up policy of the state directory: keep what the runner stores (image
/// layers and blobs, cached step layers, workspace checkouts, directory caches) under a limit in
/// bytes, removing what was used longest ago first: whole images, cached step layers, checkouts,
/// directory-cache keys (with the layers no other key shares). Never removes anything used within <see cref="Protect"/> (the runs going on now)
/// or stacked by a container that exists. Sizes of immutable entries are measured once
/// (<see cref="DiskUsage.OfImmutable"/>), so a run does not walk the whole store each time.
/// </summary>
public static class StoreCollector
{
    public static readonly TimeSpan Protect = TimeSpan.FromMinutes(30);

    public static CollectResult Collect(string stateDirectory, ImageStore images, long limit, DateTime? now = null)
    {
        var at = now ?? DateTime.UtcNow;
        var before = Total(stateDirectory, images);
        var total = before;
        var removed = new List<string>();
        long freed = 0;
        if (total <= limit)
        {
            return new CollectResult(removed, 0, before, total);
        }

        // What nobody refers to goes first, whatever its age.
        var pruned = ImagePruner.Prune(images, stateDirectory);
        freed += pruned.BytesFreed;
        total -= pruned.BytesFreed;

        foreach (var candidate in Candidates(stateDirectory, images).Where(c => at - c.LastUsed > Protect).OrderBy(c => c.LastUsed))
        {
            if (total <= limit)
            {
                break;
            }

            var bytes = candidate.Remove();
            freed += bytes;
            total -= bytes;
            removed.Add(candidate.Name);
        }

        return new CollectResult(removed, freed, before, Math.Max(0, total));
    }

    private sealed record Candidate(string Name, DateTime LastUsed, Func<long> Remove);

    private static IEnumerable<Candidate> Candidates(string state, ImageStore images)
    {
        foreach (var image in images.List())
        {
            yield return new Candidate($"image {image.Name}", images.LastUsed(image), () =>
            {
                images.Remove(ImageReference.Parse(image.Name));
                return ImagePruner.Prune(images, state).BytesFreed; // layers another image shares stay
            });
        }

        var caches = new DirectoryCaches(state);
        foreach (var (key, lastUsed) in caches.Keys())
        {
            yield return new Candidate($"directory cache {Path.GetFileName(key)}", lastUsed, () => caches.Remove(key));
        }

        var layout = new StateLayout(state);
        foreach (var (kind, root) in new[] { ("cached step layer", layout.StepCache), ("checkout", layout.Checkouts) })
        {
            foreach (var entry in Directory.Exists(root) ? Directory.EnumerateDirectories(root) : [])
            {
                if (Path.GetFileName(entry).Contains(".tmp-", StringComparison.Ordinal))
                {
                    continue;
                }

                yield return new Candidate($"{kind} {Path.GetFileName(entry)}", Directory.GetLastWriteTimeUtc(entry), () =>
                {
                    var bytes = DiskUsage.OfImmutable(entry);
                    if (root == layout.StepCache)
                    {
                        StepCache.Remove(entry);
                    }
                    else
                    {
                        DiskUsage.Remove(entry);
                    }

                    return bytes;
                });
            }
        }
    }

    /// <summary>Everything the limit counts: image layers and blobs, step layers, checkouts, directory-cache layers.</summary>
    private static long Total(string state, ImageStore images)
    {
        long total = 0;
        var layout = new StateLayout(state);
        foreach (var root in new[] { images.Layers.Root, layout.StepCache, layout.Checkouts, Path.Combine(layout.DirectoryCaches, "layers") })
        {
            foreach (var entry in Directory.Exists(root) ? Directory.EnumerateDirectories(root) : [])
            {
                if (!Path.GetFileName(entry).StartsWith('.') && !entry.Contains(".tmp-", StringComparison.Ordinal))
                {
                    total += DiskUsage.OfImmutable(entry);
                }
            }
        }

        return total + Directory.EnumerateFiles(images.Blobs.Root).Sum(f => new FileInfo(f).Length);
    }
}
