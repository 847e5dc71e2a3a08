using Ci.Isolation.Images;

namespace Ci.Isolation.Containers;

/// <summary>
/// Stops a container that writes more than its limit into its writable layer: overlayfs has no
/// quota of its own, and a step filling the disk would take the store (and the host) with it.
/// Twice a second it asks the file system how much is used (statfs, cheap); only when that grew
/// by the limit since the last measure does it measure the layer itself, so a quiet step costs
/// nothing and a busy one a walk of its own files now and then. Ending the watch disposes its
/// timer, which ends the loop without an exception: a thrown cancellation costs milliseconds in
/// a NativeAOT process, and this runs at every container's end.
/// </summary>
internal sealed class WritableLayerWatch : IAsyncDisposable
{
    private readonly PeriodicTimer _timer = new(TimeSpan.FromMilliseconds(500));
    private readonly Task _loop;

    private WritableLayerWatch(string upper, long limit, Action exceeded)
    {
        _loop = WatchAsync(upper, limit, exceeded);
    }

    /// <summary>Starts watching <paramref name="upper"/>; <paramref name="exceeded"/> is called once, when it holds <paramref name="limit"/> bytes or more.</summary>
    public static WritableLayerWatch Start(string upper, long limit, Action exceeded) => new(upper, limit, exceeded);

    public async ValueTask DisposeAsync()
    {
        _timer.Dispose(); // the pending tick completes with false
        await _loop;
    }

    private async Task WatchAsync(string upper, long limit, Action exceeded)
    {
        long Used()
        {
            var (total, available) = DiskUsage.FileSystemOf(upper);
            return total - available;
        }

        try
        {
            var baseline = Used();
            while (await _timer.WaitForNextTickAsync())
            {
                var used = Used();
                if (used - baseline < limit)
                {
                    continue;
                }

                var layer = DiskUsage.Of(upper);
                if (layer >= limit)
                {
                    exceeded();
                    return;
                }

                baseline = used - layer; // what others wrote is not this container's
            }
        }
        catch (IOException)
        {
            // The layer is going away: the container ended.
        }
    }
}
