using Ci.Isolation.Images;
using Ci.Runner.Backends.Containers;

namespace Ci.Runner.Tests.Backends.Containers;

/// <summary>The automatic clean-up on a real store: real images imported from tarballs, real cached layers.</summary>
[Category("Container")] // imports layers as root (ownership is kept)
[NonParallelizable]
public sealed class StoreCollectorTests
{
    private const long MiB = 1 << 20;
    private string _state = null!;

    [SetUp]
    public void SetUp()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("importing layers keeps file ownership, which needs root (CI is root)");
        }

        _state = Directory.CreateTempSubdirectory("collect-").FullName;
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_state, recursive: true);

    [Test, CancelAfter(60_000)]
    public async Task Over_the_limit_the_longest_unused_go_first_and_nothing_used_recently(CancellationToken ct)
    {
        var store = new ImageStore(_state, new LayerStore(_state));
        var now = DateTime.UtcNow;
        var oldest = await ImageAsync(store, "localhost/oldest", ct);
        var older = await ImageAsync(store, "localhost/older", ct);
        var recent = await ImageAsync(store, "localhost/recent", ct);
        var stepLayer = Directory.CreateDirectory(Path.Combine(_state, "step-cache", "0123456789abcdef0123456789abcdef")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(stepLayer, "deps"), new byte[MiB], ct);
        var cacheLayer = await DirectoryCacheAsync("npm-old", ct); // saved like a job saves it: 1 MiB in its one layer
        SetLastUsed(store, oldest, now.AddHours(-5));
        File.SetLastWriteTimeUtc(Path.Combine(_state, "dir-cache", "keys", Ci.Runner.Engine.CacheScope.Unscoped.WriteScope, "npm-old"), now.AddHours(-6));
        Directory.SetLastWriteTimeUtc(stepLayer, now.AddHours(-4));
        SetLastUsed(store, older, now.AddHours(-3));
        SetLastUsed(store, recent, now.AddMinutes(-5)); // within the protected window: a run may be using it

        var everything = StoreCollector.Collect(_state, store, long.MaxValue, now);
        var result = StoreCollector.Collect(_state, store, everything.BytesBefore - (5 * MiB / 2), now);
        var tight = StoreCollector.Collect(_state, store, 0, now);

        Assert.That(everything.Removed, Is.Empty, "under the limit nothing goes");
        Assert.That(result.Removed, Is.EqualTo(new[] { "directory cache npm-old", "image localhost/oldest:latest" }),
            "the longest unused first, until under the limit");
        Assert.That(Directory.Exists(cacheLayer), Is.False, "the key's layer went with it");
        Assert.That(result.BytesFreed, Is.GreaterThanOrEqualTo(3 * MiB));
        Assert.That(result.BytesAfter, Is.LessThanOrEqualTo(everything.BytesBefore - (5 * MiB / 2)));
        Assert.That(store.List().Select(i => i.Name), Is.EqualTo(new[] { "localhost/recent:latest" }), "even a limit of 0 keeps what was used in the last half hour");
        Assert.That(tight.Removed, Is.EqualTo(new[] { "cached step layer 0123456789abcdef0123456789abcdef", "image localhost/older:latest" }));
        Assert.That(Directory.Exists(stepLayer), Is.False);
    }

    /// <summary>A directory cache saved as a job saves it (open, write into its upper directory, save); returns its layer.</summary>
    private async Task<string> DirectoryCacheAsync(string key, CancellationToken ct)
    {
        var caches = new DirectoryCaches(_state);
        var mount = caches.Open(new Ci.Pipeline.Plan.PlannedCache(key, [], ["/cache"], Ci.Pipeline.Model.CachePolicy.PullPush), Ci.Runner.Engine.CacheScope.Unscoped, ["/cache"], Path.Combine(_state, "job-" + key));
        await File.WriteAllBytesAsync(Path.Combine(mount.Volumes[0].Upper, "blob"), new byte[MiB], ct);
        await caches.SaveAsync(mount, ct);
        return Path.Combine(_state, "dir-cache", "layers", File.ReadAllLines(Path.Combine(_state, "dir-cache", "keys", Ci.Runner.Engine.CacheScope.Unscoped.WriteScope, key)).Single());
    }

    /// <summary>A one-layer image of 1 MiB of random data (so no two share a layer): about 2 MiB stored, layer and blob.</summary>
    private async Task<Image> ImageAsync(ImageStore store, string name, CancellationToken ct)
    {
        var rootfs = Directory.CreateDirectory(Path.Combine(_state, "src-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        await File.WriteAllBytesAsync(Path.Combine(rootfs, "data"), System.Security.Cryptography.RandomNumberGenerator.GetBytes((int)MiB), ct);
        var tar = rootfs + ".tar";
        await CliWrap.Cli.Wrap("tar").WithArguments(["-C", rootfs, "-cf", tar, "."]).ExecuteAsync(ct);
        Directory.Delete(rootfs, recursive: true);
        var image = store.ImportRootfs(tar, ImageReference.Parse(name));
        File.Delete(tar);
        return image;
    }

    /// <summary>The store records an image's last use as its record's time (ImageStore.Touch); set it in the past.</summary>
    private void SetLastUsed(ImageStore store, Image image, DateTime at)
    {
        File.SetLastWriteTimeUtc(Directory.GetFiles(Path.Combine(_state, "i"), "*.json")
            .Single(f => File.ReadAllText(f).Contains($"\"{image.Name}\"", StringComparison.Ordinal)), at);
        Assert.That(store.LastUsed(image), Is.EqualTo(at));
    }
}
