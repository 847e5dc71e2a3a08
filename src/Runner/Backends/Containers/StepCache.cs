using System.Globalization;
using Ci.Runner.Engine;

namespace Ci.Runner.Backends.Containers;

/// <summary>A cached step layer: where it is, when it was made and by which run (null for layers kept before runs were recorded with them).</summary>
public sealed record CachedLayer(string Path, DateTimeOffset Created, long? Run);

/// <summary>
/// Step layers kept between runs (<c>cache: layer</c>), by key: the upper directory of a step
/// that succeeded, moved (not copied) under <c>step-cache/KEY</c>, with <c>KEY.origin</c> beside
/// it (the run that made it, and when). A hit means the step does not run; its layer is stacked instead.
/// Entries are scoped (<see cref="CacheScope"/>): a layer made by another repository, or by a pull
/// request, is never restored where it could be trusted.
/// </summary>
public sealed class StepCache
{
    private const string OriginSuffix = ".origin";
    private readonly string _root;

    public StepCache(string stateDirectory)
    {
        _root = new StateLayout(stateDirectory).StepCache;
        Directory.CreateDirectory(_root);
    }

    public static string Key(params string[] parts) => Ci.Isolation.Images.CacheKey.Of(parts);

    /// <summary>Removes a cached layer and its origin record (the automatic clean-up).</summary>
    public static void Remove(string path)
    {
        Ci.Isolation.Images.DiskUsage.Remove(path);
        File.Delete(path + OriginSuffix);
    }

    /// <summary>The layer stored under <paramref name="key"/> in a scope the run may read (its branch's, then the default branch's); null when none.</summary>
    public CachedLayer? Find(string key, CacheScope scope)
    {
        var path = scope.ReadScopes.Select(s => Path.Combine(_root, Key(s, key)[..32])).FirstOrDefault(Directory.Exists);
        if (path is null)
        {
            return null;
        }

        Directory.SetLastWriteTimeUtc(path, DateTime.UtcNow); // used now: the automatic clean-up removes the longest unused first
        var origin = File.Exists(path + OriginSuffix) ? File.ReadAllLines(path + OriginSuffix) : [];
        return origin is [var run, var created]
            ? new CachedLayer(path, DateTimeOffset.Parse(created, CultureInfo.InvariantCulture), long.TryParse(run, out var id) ? id : null)
            : new CachedLayer(path, Directory.GetCreationTimeUtc(path), null);
    }

    /// <summary>Moves a finished step's upper directory into the cache, in the run's own scope, and returns where it now is (an existing entry wins).</summary>
    public string Store(string key, CacheScope scope, string upper, long? run)
    {
        var path = Path.Combine(_root, Key(scope.WriteScope, key)[..32]);
        if (Ci.Isolation.Images.StoreDirectory.Publish(upper, path))
        {
            File.WriteAllLines(path + OriginSuffix, [run?.ToString(CultureInfo.InvariantCulture) ?? "", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)]);
        }

        return path;
    }
}
