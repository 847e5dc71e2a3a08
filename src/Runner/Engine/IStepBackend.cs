using Ci.Pipeline.Plan;

namespace Ci.Runner.Engine;

/// <summary>How a step ended: a result, never an exception (exit code, signal, OOM kill, timeout, or skipped).</summary>
public sealed record StepOutcome(int? ExitCode, int? Signal, bool OomKilled, bool TimedOut, TimeSpan Duration, TimeSpan CpuTime, long PeakMemoryBytes)
{
    /// <summary>Set when the step did not run because its layer was in the cache: when that layer was made.</summary>
    public DateTimeOffset? CachedFrom { get; init; }

    /// <summary>With <see cref="CachedFrom"/>: the run that made the layer, when known.</summary>
    public long? CachedRun { get; init; }

    /// <summary>Set when the step was stopped for writing more than its writable-layer limit (this many bytes).</summary>
    public long? WritableLimitExceeded { get; init; }

    public bool Succeeded => ExitCode == 0 && !OomKilled && !TimedOut && WritableLimitExceeded is null;

    /// <summary>The shell's view: the exit code, or 128 + the signal.</summary>
    public int ShellExitCode => ExitCode ?? 128 + (Signal ?? 0);
}

/// <summary>A line a step printed, already masked.</summary>
public sealed record StepOutput(string Job, int Step, bool IsError, string Text);

/// <summary>
/// The one seam between scheduling and execution. The scheduler calls, per job:
/// <see cref="StartJobAsync"/> once, then <see cref="RunStepAsync"/> for each step in order (each
/// step starts from exactly the file system the previous one left), then
/// <see cref="FinishJobAsync"/> once, always, also after a failure or cancellation. A job's
/// artifacts are collected at its finish and stacked into the jobs that need it.
/// Different jobs may run concurrently; calls for one job are never concurrent. FinishJobAsync is
/// safe to repeat. Implementations: containers (<see cref="ContainerStepBackend"/>); a scripted
/// backend for scheduler tests.
/// </summary>
public interface IStepBackend
{
    /// <summary>Prepares what a job's steps share: its image, checkout, network. Throws for infrastructure failures.</summary>
    Task<IJobHandle> StartJobAsync(PlannedJob job, CancellationToken cancellationToken);

    Task<StepOutcome> RunStepAsync(IJobHandle job, PlannedStep step, Action<StepOutput> output, CancellationToken cancellationToken);

    /// <summary>
    /// Lets the user reproduce a step that failed (its last attempt): an interactive session in the
    /// step's exact starting state. Called only when the run asks for it (--shell-on-failure).
    /// </summary>
    Task ReproduceAsync(IJobHandle job, PlannedStep step, CancellationToken cancellationToken);

    /// <summary>Ends a job: collects its artifacts (by its artifacts.when and <paramref name="succeeded"/>) for the jobs that need it, and releases what it held.</summary>
    Task FinishJobAsync(IJobHandle job, bool succeeded);
}

/// <summary>A job the backend started; opaque to the scheduler.</summary>
public interface IJobHandle
{
    PlannedJob Job { get; }
}
