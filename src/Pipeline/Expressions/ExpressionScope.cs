namespace Ci.Pipeline.Expressions;

/// <summary>The outcome so far of what a job or step depends on, for success(), failure() and cancelled().</summary>
public sealed record RunStatus(bool AnyFailed, bool Cancelled);

/// <summary>What an expression can see: variables, the changed files of the trigger, and, at run time, the status.</summary>
public sealed record ExpressionScope(
    IReadOnlyDictionary<string, string> Variables,
    IReadOnlyList<string>? ChangedFiles,
    RunStatus? Status = null);
