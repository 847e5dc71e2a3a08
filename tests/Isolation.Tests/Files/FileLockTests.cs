using Ci.Isolation.Files;

namespace Ci.Isolation.Tests.Files;

/// <summary>The one cross-process lock: exclusive, patient up to a limit, cancellable, and still one lock when its file is removed on release.</summary>
public sealed class FileLockTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("filelock-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test, CancelAfter(10_000)]
    public async Task A_second_taker_waits_until_the_first_lets_go()
    {
        var path = Path.Combine(_dir, "a.lock");
        var first = await FileLock.AcquireAsync(path, "a");
        var second = FileLock.AcquireAsync(path, "a");

        await Task.Delay(100);
        Assert.That(second.IsCompleted, Is.False, "held by the first");
        first.Dispose();
        using var held = await second;
    }

    [Test, CancelAfter(10_000)]
    public async Task A_lock_not_free_within_its_patience_says_what_and_where()
    {
        var path = Path.Combine(_dir, "mirror.lock");
        using var first = await FileLock.AcquireAsync(path, "the mirror of example.org/repo");

        var ex = Assert.ThrowsAsync<LockTimeoutException>(() => FileLock.AcquireAsync(path, "the mirror of example.org/repo", TimeSpan.FromMilliseconds(300)));

        Assert.That(ex!.Message, Is.EqualTo($"waited 0 s for the mirror of example.org/repo ({path}), which another run still holds"));
    }

    [Test, CancelAfter(10_000)]
    public async Task Waiting_is_cancellable()
    {
        var path = Path.Combine(_dir, "c.lock");
        using var first = await FileLock.AcquireAsync(path, "c");
        using var cancel = new CancellationTokenSource(200);

        Assert.CatchAsync<OperationCanceledException>(() => FileLock.AcquireAsync(path, "c", cancellationToken: cancel.Token));
        Assert.Catch<OperationCanceledException>(() => FileLock.Acquire(path, "c", cancellationToken: new CancellationTokenSource(200).Token));
    }

    [Test, CancelAfter(20_000)]
    public async Task A_lock_removed_on_release_is_still_held_by_one_taker_at_a_time()
    {
        // Many takers of a lock whose file goes with each release. (The case this guards, a taker that opened the old file just
        // before it went while another creates the new one, is a window of microseconds: this counts who is inside at once.)
        var path = Path.Combine(_dir, "blob.lock");
        var inside = 0;
        var most = 0;
        async Task Take()
        {
            for (var i = 0; i < 30; i++)
            {
                using (await FileLock.AcquireAsync(path, "blob", removeOnRelease: true))
                {
                    var now = Interlocked.Increment(ref inside);
                    InterlockedMax(ref most, now);
                    await Task.Delay(1);
                    Interlocked.Decrement(ref inside);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(Take)));

        Assert.That(most, Is.EqualTo(1));
        Assert.That(File.Exists(path), Is.False, "the last release removed it");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
