using Ci.Isolation.Containers;
using Ci.Isolation.Files;
using Ci.Isolation.Images;
using Ci.Isolation.Processes;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;
using Ci.Runner.Engine;

namespace Ci.Runner.Backends.Containers;

/// <summary>
/// A job's directory caches (<c>cache:</c> on a job: ~/.npm and the like), kept between runs
/// without zipping or copying. A stored version of a key is a stack of read-only layers; a job
/// mounts it as an overlay with an upper directory of its own, so concurrent jobs on one key
/// never see each other's writes and a failed job leaves the stored version as it was. When a
/// job succeeds its upper directory is moved (renamed) in as the new top layer and the key's
/// manifest is replaced atomically; the last job to finish wins, and both versions were whole.
/// Stacks deeper than <see cref="MaxDepth"/> are flattened, off the restore path.
/// </summary>
/// <remarks>
/// Layout under STATE/dir-cache: <c>layers/ID/</c> (immutable), <c>keys/SCOPE/KEY</c> (layer ids,
/// top first, one per line; its time is when it was saved; SCOPE is the repository and branch tier
/// of <see cref="CacheScope"/>), <c>keys/SCOPE/KEY.used</c> (its time is when a job last restored it), <c>leases/PID-N</c> (the layers a running job has mounted, so that
/// clean-up never removes them), <c>.lock</c>.
/// </remarks>
public sealed class DirectoryCaches
{
    public const int MaxDepth = 8;

    private const string UsedSuffix = ".used";

    private readonly string _root;
    private readonly string _layers;
    private readonly string _keys;
    private readonly string _leases;

    public DirectoryCaches(string stateDirectory)
    {
        _root = new StateLayout(stateDirectory).DirectoryCaches;
        _layers = Directory.CreateDirectory(Path.Combine(_root, "layers")).FullName;
        _keys = Directory.CreateDirectory(Path.Combine(_root, "keys")).FullName;
        _leases = Directory.CreateDirectory(Path.Combine(_root, "leases")).FullName;
    }

    /// <summary>Guards the keys, the leases and the clean-up of layers no key or lease uses.</summary>
    private string LockPath => Path.Combine(_root, ".lock");

    /// <summary>
    /// Prepares one cache of a job: the stored version of its key (or of the newest key that starts
    /// with a fallback prefix), leased, and a fresh upper directory under <paramref name="workDirectory"/>.
    /// Each of the cache's paths is a numbered directory in every layer and gets an overlay of its own.
    /// </summary>
    public CacheMount Open(PlannedCache cache, CacheScope scope, IReadOnlyList<string> containerPaths, string workDirectory)
    {
        var dir = Directory.CreateDirectory(workDirectory).FullName;
        var upper = Directory.CreateDirectory(Path.Combine(dir, "upper")).FullName;
        var empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;

        using (FileLock.Acquire(LockPath, "the directory caches"))
        {
            var (restoredFrom, ids, manifest) = cache.Policy == CachePolicy.Push ? (null, [], null) : Find(cache, scope);
            if (manifest is not null)
            {
                File.WriteAllBytes(manifest + UsedSuffix, []); // for the store's clean-up: used now
            }

            var lease = Path.Combine(_leases, $"{ProcessIdentity.Current.Token}-{Guid.NewGuid():N}");
            File.WriteAllLines(lease, ids);
            var volumes = containerPaths.Select((target, n) =>
            {
                var lowers = ids.Select(id => Path.Combine(_layers, id, n.ToString())).Where(Directory.Exists).ToList();
                return new OverlayVolume(target, lowers.Count > 0 ? lowers : [empty],
                    Directory.CreateDirectory(Path.Combine(upper, n.ToString())).FullName,
                    Directory.CreateDirectory(Path.Combine(dir, $"work-{n}")).FullName);
            }).ToList();
            return new CacheMount(cache, volumes, restoredFrom, ids, lease, upper) { Scope = scope.WriteScope };
        }
    }

    /// <summary>Keeps what the job left in the cache as the key's new version. Returns the number of layers in it.</summary>
    public async Task<int> SaveAsync(CacheMount mount, CancellationToken cancellationToken)
    {
        // The lock is held for moments only: a flatten copies the whole cache, and every job's caches wait for this lock. While it
        // runs, the job's lease keeps the layers it reads and the one it writes from the clean-up.
        var id = NewId();
        List<string> ids;
        using (await FileLock.AcquireAsync(LockPath, "the directory caches", cancellationToken: cancellationToken))
        {
            Directory.Move(mount.Upper, Path.Combine(_layers, id));
            ids = [id, .. mount.LayerIds];
            File.WriteAllLines(mount.Lease, ids);
        }

        if (ids.Count > MaxDepth)
        {
            var flat = NewId();
            File.WriteAllLines(mount.Lease, [.. ids, flat]);
            await LayerFlattener.FlattenAsync(ids.Select(i => Path.Combine(_layers, i)).ToList(), Path.Combine(_layers, flat), cancellationToken);
            ids = [flat];
        }

        using (await FileLock.AcquireAsync(LockPath, "the directory caches", cancellationToken: cancellationToken))
        {
            var manifest = Path.Combine(Directory.CreateDirectory(Path.Combine(_keys, mount.Scope)).FullName, mount.Cache.Key);
            var temporary = manifest + $".{Environment.ProcessId}.tmp";
            File.WriteAllLines(temporary, ids);
            File.Move(temporary, manifest, overwrite: true);
            Release(mount);
            _ = RemoveUnused();
            return ids.Count;
        }
    }

    /// <summary>Ends the job's use of the stored layers (they may be cleaned up once no key and no job uses them).</summary>
    public void Release(CacheMount mount) => File.Delete(mount.Lease);

    /// <summary>
    /// The stored version to restore: in each scope the run may read (its own branch's, then the
    /// default branch's), the exact key, then the newest key under each fallback prefix.
    /// </summary>
    private (string? Key, IReadOnlyList<string> Ids, string? Manifest) Find(PlannedCache cache, CacheScope scope)
    {
        foreach (var dir in scope.ReadScopes.Select(s => Path.Combine(_keys, s)).Where(Directory.Exists))
        {
            var exact = Path.Combine(dir, cache.Key);
            if (File.Exists(exact))
            {
                return (cache.Key, File.ReadAllLines(exact), exact);
            }

            foreach (var prefix in cache.FallbackKeys)
            {
                var newest = new DirectoryInfo(dir).EnumerateFiles(prefix + "*")
                    .Where(f => IsManifest(f.Name))
                    .OrderByDescending(f => f.LastWriteTimeUtc)
                    .FirstOrDefault();
                if (newest is not null)
                {
                    return (newest.Name, File.ReadAllLines(newest.FullName), newest.FullName);
                }
            }
        }

        return (null, [], null);
    }

    /// <summary>
    /// The keys of every scope (SCOPE/KEY), with when each was last saved or restored (for the
    /// store's clean-up, which removes the longest unused).
    /// </summary>
    public IReadOnlyList<(string Key, DateTime LastUsed)> Keys() =>
        Manifests().Select(f =>
        {
            var used = f + UsedSuffix;
            var saved = File.GetLastWriteTimeUtc(f);
            return (Path.GetRelativePath(_keys, f), File.Exists(used) && File.GetLastWriteTimeUtc(used) > saved ? File.GetLastWriteTimeUtc(used) : saved);
        }).ToList();

    /// <summary>Forgets a key (SCOPE/KEY, as <see cref="Keys"/> names it), and removes its layers unless another key or a running job uses them. Returns the bytes freed.</summary>
    public long Remove(string key)
    {
        using (FileLock.Acquire(LockPath, "the directory caches"))
        {
            File.Delete(Path.Combine(_keys, key));
            File.Delete(Path.Combine(_keys, key + UsedSuffix));
            return RemoveUnused();
        }
    }

    private IEnumerable<string> Manifests() =>
        Directory.EnumerateFiles(_keys, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Where(IsManifest);

    private static bool IsManifest(string path) => !path.EndsWith(".tmp", StringComparison.Ordinal) && !path.EndsWith(UsedSuffix, StringComparison.Ordinal);

    /// <summary>Removes layers that no key lists and no running job has leased (a lease of a dead process does not count); returns the measured bytes freed.</summary>
    private long RemoveUnused()
    {
        long freed = 0;
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var manifest in Manifests())
        {
            used.UnionWith(File.ReadAllLines(manifest));
        }

        foreach (var lease in Directory.EnumerateFiles(_leases))
        {
            if (ProcessIdentity.IsAliveToken(Path.GetFileName(lease).Split('-')[0]))
            {
                used.UnionWith(File.ReadAllLines(lease));
            }
            else
            {
                File.Delete(lease);
            }
        }

        foreach (var layer in Directory.EnumerateDirectories(_layers))
        {
            if (!used.Contains(Path.GetFileName(layer)))
            {
                freed += DiskUsage.OfImmutable(layer);
                DiskUsage.Remove(layer);
            }
        }

        return freed;
    }

    private static string NewId() => $"{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..12]}";
}

/// <summary>One directory cache of a running job: what it mounts, and which stored version (key, layers) it came from.</summary>
public sealed record CacheMount(PlannedCache Cache, IReadOnlyList<OverlayVolume> Volumes, string? RestoredFrom, IReadOnlyList<string> LayerIds, string Lease, string Upper)
{
    /// <summary>The scope (repository and branch tier) a successful job saves into.</summary>
    public string Scope { get; init; } = CacheScope.Unscoped.WriteScope;
}
