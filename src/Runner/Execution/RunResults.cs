namespace Ci.Runner.Execution;

public enum RunStatus
{
    Passed,
    Failed,
    AllowedFailure,
    Skipped,
}

public sealed record StepResult(int Index, string Name, RunStatus Status, StepOutcome? Outcome, int Attempts, string? Reason);

public sealed record JobResult(string Id, RunStatus Status, IReadOnlyList<StepResult> Steps, TimeSpan Duration, string? Reason);
