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

    /// <summary>How long its container took to start (to the command's execve), when the backend knows.</summary>
    public TimeSpan? StartDuration { get; init; }

    public bool Succeeded => ExitCode == 0 && !OomKilled && !TimedOut && WritableLimitExceeded is null;

    /// <summary>The shell's view: the exit code, or 128 + the signal.</summary>
    public int ShellExitCode => ExitCode ?? 128 + (Signal ?? 0);
}

/// <summary>A line a step printed, as the backend read it: the engine neutralises and masks it before anyone sees it.</summary>
public sealed record StepOutput(bool IsError, string Text);

/// <summary>
/// The sources a job's steps see, as the run's source prepared them: <see cref="Layers"/> are
/// directories laid out as layers (<c>workspace/…</c>), top first, for backends on this machine;
/// <see cref="Repository"/> and <see cref="Commit"/> say what they are, for a backend that fetches
/// its own; <see cref="Key"/> names their content (the tree id, and the working tree's changes).
/// </summary>
public sealed record Workspace(IReadOnlyList<string> Layers, string Key, string Repository, string Commit);

/// <summary>What a finished job kept for the jobs that need it: <see cref="Location"/> is the backend's, handed back to it unread.</summary>
public sealed record ArtifactSet(string Job, string Location, int Files);

/// <summary>
/// Everything a job needs from the run: its plan, its sources and the artifacts of the jobs it needs that kept some.
/// <see cref="Services"/> takes what the job's services report, from any thread: the engine neutralises, masks and records it.
/// </summary>
public sealed record JobStart(PlannedJob Job, Workspace Workspace, IReadOnlyList<ArtifactSet> NeededArtifacts)
{
    public Action<ServiceReport> Services { get; init; } = _ => { };
}

/// <summary>What a job's service reports through the seam: a line it printed, or a change of its state.</summary>
public abstract record ServiceReport(string Service);

/// <summary>A line a service printed, raw (the engine neutralises and masks it).</summary>
public sealed record ServiceOutput(string Service, bool IsError, string Text) : ServiceReport(Service);

public enum ServiceState
{
    Starting,
    Ready,

    /// <summary>It did not become ready: the job fails.</summary>
    NotReady,

    /// <summary>It ended while the job ran.</summary>
    Exited,
}

/// <summary>A service's new state, with what the user needs to know in <see cref="Detail"/> (the check that failed, its exit code and last lines).</summary>
public sealed record ServiceStatus(string Service, ServiceState State, string Detail) : ServiceReport(Service)
{
    /// <summary>The state in a few words, for a job's summary line (the detail without the service's lines); null: the detail.</summary>
    public string? Summary { get; init; }
}

/// <summary>
/// The one seam between the engine and execution. Per job the engine calls
/// <see cref="StartJobAsync"/> once, then <see cref="RunStepAsync"/> for each step attempt in
/// order (each step starts from exactly the file system the previous one left; attempt 2 and
/// later of a step start again from where its attempt 1 started), then
/// <see cref="FinishJobAsync"/> once, always, also after a failure or a stop, when the job
/// started. Different jobs run concurrently; calls for one job never are. Everything a job needs
/// comes in through <see cref="JobStart"/>, and what it keeps goes out as the
/// <see cref="ArtifactSet"/> its finish returns.
/// <para>
/// Failures: a step that fails is a <see cref="StepOutcome"/>. A job the backend cannot run (a
/// setting it does not support, an image that cannot be pulled, a machine fault) is a
/// <see cref="BackendException"/> that says whether it is an infrastructure failure.
/// <see cref="OperationCanceledException"/> means the call's token was cancelled. Anything
/// else is a bug of the backend: the engine fails that job as an infrastructure failure and
/// stops the run.
/// </para>
/// Disposing a backend waits for the clean-up it still has in hand. Implementations: containers
/// (<c>Backends/Containers</c>), and the scripted backend of the engine's tests.
/// </summary>
public interface IStepBackend : IAsyncDisposable
{
    /// <summary>Prepares what a job's steps share: its image, sources, the artifacts it needs, its network and caches.</summary>
    Task<IJobHandle> StartJobAsync(JobStart start, CancellationToken cancellationToken);

    /// <param name="attempt">1 for the first run of the step, 2 and more for its retries.</param>
    /// <param name="output">Called with each line the step prints, in order, from one thread at a time.</param>
    Task<StepOutcome> RunStepAsync(IJobHandle job, PlannedStep step, int attempt, Action<StepOutput> output, CancellationToken cancellationToken);

    /// <summary>
    /// Ends a job: keeps its artifacts (by its artifacts.when and <paramref name="succeeded"/>;
    /// null when it has none to keep) and releases what it held. The engine passes a token that
    /// only a forceful stop cancels: a finish is clean-up, and a polite stop waits for it.
    /// </summary>
    Task<ArtifactSet?> FinishJobAsync(IJobHandle job, bool succeeded, CancellationToken cancellationToken);
}

/// <summary>
/// What a backend on the user's machine can also do: let the user reproduce a step that failed
/// (its last attempt) in an interactive session with the step's exact starting state
/// (--shell-on-failure). The engine asks only when the run wants it.
/// </summary>
public interface IInteractiveBackend
{
    Task ReproduceAsync(IJobHandle job, PlannedStep step, CancellationToken cancellationToken);
}

/// <summary>A job the backend started; opaque to the engine.</summary>
public interface IJobHandle
{
    PlannedJob Job { get; }
}

/// <summary>
/// A job the backend cannot run, with the reason in the user's words. <see cref="Infrastructure"/>
/// says whether the machine failed (a container could not be made, an image could not be
/// pulled: the run ends as an error) or the job asked for what this backend does not do (the job
/// fails).
/// </summary>
public sealed class BackendException(string message, bool infrastructure, Exception? inner = null) : Exception(message, inner)
{
    public bool Infrastructure { get; } = infrastructure;
}
