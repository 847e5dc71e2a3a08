using System.Text.Json.Serialization;

namespace Ci.Runner.Engine;

/// <summary>
/// What happens during a run, as it happens: the scheduler and the backend report these, and
/// the front ends render them (prefixed lines on a terminal or in a CI log, JSON lines with
/// --json, and later the server's event stream).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(RunStarted), "run_started")]
[JsonDerivedType(typeof(JobStarted), "job_started")]
[JsonDerivedType(typeof(StepStarted), "step_started")]
[JsonDerivedType(typeof(StepOutputEvent), "output")]
[JsonDerivedType(typeof(StepRetrying), "step_retrying")]
[JsonDerivedType(typeof(StepFinished), "step_finished")]
[JsonDerivedType(typeof(JobFinished), "job_finished")]
[JsonDerivedType(typeof(JobNotice), "notice")]
[JsonDerivedType(typeof(ServiceStatusEvent), "service_status")]
[JsonDerivedType(typeof(ServiceOutputEvent), "service_output")]
[JsonDerivedType(typeof(RunFinished), "run_finished")]
public abstract record RunEvent(string Job)
{
    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The line a person reads.</summary>
    public abstract string Describe();
}

/// <summary>The first event of a run: its number in the record and its jobs as planned (the graph a viewer draws).</summary>
public sealed record RunStarted(long Run, IReadOnlyList<PlannedJobView> Jobs) : RunEvent("")
{
    public override string Describe() => $"run {Run} ('runner logs {Run}' prints it again)";
}

/// <summary>A job as a viewer of the run needs it before it runs: what it needs and its steps' names.</summary>
public sealed record PlannedJobView(string Id, string Name, IReadOnlyList<string> Needs, IReadOnlyList<string> Steps, string? SkipReason);

public sealed record JobStarted(string Job, string Name) : RunEvent(Job)
{
    public override string Describe() => $"{Name}: started";
}

public sealed record StepStarted(string Job, string JobName, int Step, string Name, bool LayerCache) : RunEvent(Job)
{
    public override string Describe() => $"{JobName}: step {Step} {Name}{(LayerCache ? " (cache: layer)" : "")}";
}

/// <summary>A line a service printed, already masked (kept with the run, not shown live).</summary>
public sealed record ServiceOutputEvent(string Job, string Service, bool IsError, string Line) : RunEvent(Job)
{
    public override string Describe() => $"{Job} service {Service}: {Line}";
}

/// <summary>A service started, became ready, did not, or ended during the job.</summary>
public sealed record ServiceStatusEvent(string Job, string Service, ServiceState State, string Detail) : RunEvent(Job)
{
    public override string Describe() => $"{Job}: service {Service} {Detail}";
}

/// <summary>A line a step printed, already masked.</summary>
public sealed record StepOutputEvent(string Job, int Step, bool IsError, string Line) : RunEvent(Job)
{
    public override string Describe() => $"[{Job}:{Step}] {Line}";
}

public sealed record StepRetrying(string Job, string JobName, int Step, int ExitCode, int Attempt, int MaxRetries) : RunEvent(Job)
{
    public override string Describe() => $"{JobName}: step {Step} exited {ExitCode}; retrying ({Attempt} of {MaxRetries})";
}

public sealed record StepFinished(string Job, string JobName, StepResult Result) : RunEvent(Job)
{
    public override string Describe() => Result.Outcome?.CachedFrom is { } at
        ? $"{JobName}: step {Result.Index} cached (layer from {(Result.Outcome.CachedRun is { } run ? $"run {run}, " : "")}{at:yyyy-MM-dd HH:mm:ss} UTC)"
        : $"{JobName}: step {Result.Index} {RunStatusText.Of(Result.Status)}{(Result.Outcome is { } o ? $" (exit {o.ShellExitCode}{Why(o)})" : "")}";

    /// <summary>Why a step was killed, in words, as the summary says it: 137 alone does not tell an OOM kill from a timeout.</summary>
    private string Why(StepOutcome o) =>
        o.OomKilled ? $": killed, out of memory{(Result.MemoryLimit is { } limit ? $" (limit {Ci.Pipeline.Values.Units.FormatBytes(limit)})" : "")}"
        : o.TimedOut ? ": killed, timed out"
        : o.WritableLimitExceeded is { } disk ? $": killed, wrote more than {Ci.Pipeline.Values.Units.FormatBytes(disk)} into its file system"
        : Result.Reason is { } reason && reason.StartsWith("stopped", StringComparison.Ordinal) ? $": {reason}"
        : "";
}

public sealed record JobFinished(string Job, string JobName, JobResult Result) : RunEvent(Job)
{
    public override string Describe() => Result.InfrastructureFailure ? $"{JobName}: infrastructure failure: {Result.Reason}"
        : Result.Reason is not null ? $"{JobName}: {RunStatusText.Of(Result.Status)}: {Result.Reason}"
        : $"{JobName}: {RunStatusText.Of(Result.Status)}";
}

/// <summary>Something a person should know: a cache restored or saved, why a job could not start.</summary>
public sealed record JobNotice(string Job, string Message) : RunEvent(Job)
{
    public override string Describe() => Message;
}

/// <summary>The last event of a run: its number in the record, how it ended, and every job's result.</summary>
public sealed record RunFinished(long Run, string Status, IReadOnlyList<JobResult> Jobs) : RunEvent("")
{
    public override string Describe() => $"run {Run}: {Status}";
}

public static class RunStatusText
{
    public static string Of(RunStatus status) => status switch
    {
        RunStatus.Passed => "passed",
        RunStatus.Cached => "cached",
        RunStatus.Failed => "failed",
        RunStatus.AllowedFailure => "failed (allowed)",
        _ => "skipped",
    };
}
