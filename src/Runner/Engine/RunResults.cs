namespace Ci.Runner.Engine;

public enum RunStatus
{
    Passed,
    Cached,
    Failed,
    AllowedFailure,
    Skipped,
}

public sealed record StepResult(int Index, string Name, RunStatus Status, StepOutcome? Outcome, int Attempts, string? Reason)
{
    public long? MemoryLimit { get; init; }
}

public sealed record JobResult(string Id, RunStatus Status, IReadOnlyList<StepResult> Steps, TimeSpan Duration, string? Reason)
{
    /// <summary>The machine failed (a container could not be made), not the job's own commands.</summary>
    public bool InfrastructureFailure { get; init; }
}
