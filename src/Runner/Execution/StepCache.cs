namespace Ci.Runner.Execution;

/// <summary>A cached step layer: where it is and when it was made.</summary>
public sealed record CachedLayer(string Path, DateTimeOffset Created);

/// <summary>
/// Step layers kept between runs (<c>cache: layer</c>), by key: the upper directory of a step
/// that succeeded, moved (not copied) under <c>step-cache/KEY</c>. A hit means the step does not
/// run; its layer is stacked instead.
/// </summary>
public sealed class StepCache
{
    private readonly string _root;

    public StepCache(string stateDirectory)
    {
        _root = Path.Combine(stateDirectory, "step-cache");
        Directory.CreateDirectory(_root);
    }

    public static string Key(params string[] parts) => Ci.Isolation.Images.CacheKey.Of(parts);

    public CachedLayer? Find(string key)
    {
        var path = Path.Combine(_root, key[..32]);
        if (!Directory.Exists(path))
        {
            return null;
        }

        Directory.SetLastWriteTimeUtc(path, DateTime.UtcNow); // used now: the automatic clean-up removes the longest unused first
        return new CachedLayer(path, Directory.GetCreationTimeUtc(path));
    }

    /// <summary>Moves a finished step's upper directory into the cache and returns where it now is (an existing entry wins).</summary>
    public string Store(string key, string upper)
    {
        var path = Path.Combine(_root, key[..32]);
        if (Ci.Isolation.Images.StoreDirectory.Publish(upper, path))
        {
            Directory.SetCreationTimeUtc(path, DateTime.UtcNow);
        }

        return path;
    }
}
