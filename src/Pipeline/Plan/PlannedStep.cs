using Ci.Pipeline.Expressions;

namespace Ci.Pipeline.Plan;

/// <summary>An environment variable. When <see cref="Secrets"/> is not empty, <see cref="Value"/> holds <c>${{ secrets.NAME }}</c> placeholders that only the executor fills in.</summary>
public sealed record EnvVar(string Name, string Value, IReadOnlyList<string> Secrets)
{
    /// <summary>One of the predefined variables (CI, CI_COMMIT_SHA…) with its predefined value: the pipeline did not set it.</summary>
    public bool Predefined { get; init; }
}

/// <summary>Limits of one container. Null means unlimited.</summary>
public sealed record ResourceLimits(int? MilliCpus, long? MemoryBytes, long? SwapBytes, int? Pids);

public sealed record RetryPolicy(int Max, IReadOnlyList<int> ExitCodes, TimeSpan Delay)
{
    public static RetryPolicy None { get; } = new(0, [], TimeSpan.Zero);

    /// <summary>Whether a failure with this exit code is retried (an empty code list retries every failure).</summary>
    public bool Retries(int exitCode) => Max > 0 && (ExitCodes.Count == 0 || ExitCodes.Contains(exitCode));
}

public sealed record FailurePolicy(bool Any, IReadOnlyList<int> ExitCodes)
{
    public static FailurePolicy None { get; } = new(false, []);

    public bool Allows(int exitCode) => Any || ExitCodes.Contains(exitCode);
}

/// <summary>
/// When to run. <see cref="Expression"/> is in the pipeline's expression language; when
/// <see cref="AtRunTime"/> is false the compiler already decided it (true) and the executor may ignore it.
/// </summary>
public sealed record RunCondition(string Expression, bool AtRunTime)
{
    public static RunCondition OnSuccess { get; } = new("success()", true);

    /// <summary>
    /// Whether a job or step with this condition runs, given the run's status so far. As in
    /// GitHub Actions, an expression without a status function means <c>success() &amp;&amp;
    /// (expression)</c>: the compiler decides those already, and this is the rule's one place at
    /// run time. An expression that does not parse (the compiler reported it) does not run.
    /// </summary>
    public bool Holds(IReadOnlyDictionary<string, string> variables, RunStatus status)
    {
        if (!AtRunTime)
        {
            return true;
        }

        if (!ExpressionParser.TryParse(Expression, out var expr, out _, out _))
        {
            return false;
        }

        var value = ExpressionEvaluator.Evaluate(expr!, new ExpressionScope(variables, null, status)).IsTruthy;
        return ExpressionEvaluator.UsesStatus(expr!) ? value : value && !status.AnyFailed && !status.Cancelled;
    }
}

/// <summary>
/// The declared inputs of a <c>cache: layer</c> step. The executor completes the key with what
/// only it knows: the image digest, the keys of the parent layers and, when
/// <see cref="WholeCheckout"/> is set, the checkout's tree id.
/// </summary>
public sealed record LayerCachePlan(string InputsDigest, IReadOnlyList<string> KeyFiles, bool WholeCheckout);

public sealed record PlannedStep(
    int Index,
    string Name,
    IReadOnlyList<string> Command,
    string Script,
    IReadOnlyList<EnvVar> Env,
    string Workdir,
    string? User,
    ResourceLimits Limits,
    TimeSpan Timeout,
    RetryPolicy Retry,
    FailurePolicy AllowFailure,
    RunCondition Condition,
    string? SkipReason,
    LayerCachePlan? LayerCache,
    Ci.Pipeline.Model.NetworkMode? Network = null);
