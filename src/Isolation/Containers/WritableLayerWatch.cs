using Ci.Isolation.Images;

namespace Ci.Isolation.Containers;

/// <summary>
/// Stops a container that writes more than its limit into its writable layer: overlayfs has no
/// quota of its own, and a step filling the disk would take the store (and the host) with it.
/// Twice a second it asks the file system how much is used (statfs, cheap); only when that grew
/// by the limit since the last measure does it measure the layer itself, so a quiet step costs
/// nothing and a busy one a walk of its own files now and then.
/// </summary>
internal static class WritableLayerWatch
{
    public static async Task WatchAsync(string upper, long limit, Action exceeded, CancellationToken cancellationToken)
    {
        var drive = new DriveInfo(upper);
        long Used() => drive.TotalSize - drive.AvailableFreeSpace;
        var baseline = Used();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
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
        catch (OperationCanceledException)
        {
            // The container ended.
        }
        catch (IOException)
        {
            // The layer is going away: the container ended.
        }
    }
}
