using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Pipeline.Values;
using Ci.Runner.Engine;
using Ci.Runner.Records;

namespace Ci.Runner.Backends.Containers;

/// <summary>
/// Makes the container backend of each run: the runtime (made at the first run, so that verbs
/// that run nothing never need cgroups or root), the run's scratch directory, where its jobs'
/// artifacts are kept, and after the run the store's automatic clean-up.
/// </summary>
/// <param name="pull">Pulls an image that is not in the store; throws <see cref="IsolationException"/> when it cannot.</param>
/// <param name="storeLimit">What the state directory may hold before the longest-unused entries go; null: no automatic clean-up.</param>
public sealed class ContainerBackendFactory(
    RuntimeOptions options,
    ImageStore images,
    Func<ImageReference, CancellationToken, Task<Image>> pull,
    ArtifactStore artifacts,
    long? storeLimit) : IStepBackendFactory
{
    private readonly Lock _gate = new();
    private ContainerRuntime? _runtime;

    /// <summary>
    /// Makes the runtime now, which removes what dead runners left (containers, mounts, cgroups,
    /// networks): a server does this at its start, before it runs again what a killed server was running.
    /// Throws <see cref="BackendException"/> when containers cannot run here.
    /// </summary>
    public void Start()
    {
        try
        {
            lock (_gate)
            {
                // Steps start one after another: a finished step's cgroups and directories go in the background, and the next
                // step's runner-init starts while this one runs, both off the next step's path.
                _runtime ??= ContainerRuntime.Create(options with { DeferCleanup = true, UseLauncher = true }, Serilog.Log.Logger);
            }
        }
        catch (Exception ex) when (ex is IsolationException or Isolation.Cgroups.CgroupUnavailableException or UnauthorizedAccessException)
        {
            throw new BackendException($"cannot start containers here: {ex.Message}", infrastructure: true, ex);
        }
    }

    /// <summary>Thread-safe: a server makes backends for runs that start at the same time, and they share one runtime.</summary>
    public IStepBackend Create(RunContext context)
    {
        Start();

        var expiry = TimeSpan.FromDays(7);
        return new ContainerStepBackend(_runtime!, images, pull, RunDirectories.Create(options.StateDirectory, $"run{context.RunId}"), options.StateDirectory,
            context.Secrets,
            job => artifacts.Directory(context.RunId, job.Id, DateTimeOffset.UtcNow + (job.Artifacts?.ExpireIn ?? expiry)),
            context.CacheScope, context.Report)
        {
            KillNow = context.Stop.KillNow,
            RunId = context.RunId,
            InteractiveSession = context.InteractiveSession,
            AfterRun = () => CollectStore(context.Report),
        };
    }

    /// <summary>After a run: when the store is over its limit, the longest-unused entries go, and the run says so.</summary>
    private void CollectStore(Action<RunEvent> report)
    {
        if (storeLimit is not { } limit)
        {
            return;
        }

        var collected = StoreCollector.Collect(options.StateDirectory, images, limit);
        if (collected.Removed.Count > 0)
        {
            report(new JobNotice("", $"the store was over its limit of {Units.FormatBytes(limit)} ({Units.FormatBytes(collected.BytesBefore)}): " +
                $"removed {string.Join(", ", collected.Removed)}, the longest unused; freed {Units.FormatBytes(collected.BytesFreed)}"));
        }
    }
}
