using Ci.Pipeline.Model;

namespace Ci.Pipeline.Plan;

/// <summary>When a service is ready: every check given passes (a command that exits 0, a port that accepts, a URL that answers 2xx).</summary>
public sealed record PlannedReadiness(IReadOnlyList<string>? Command, int? TcpPort, TimeSpan Interval, TimeSpan Timeout, int Retries, string? Http = null);

/// <summary>A container that runs beside the job's steps for the whole job, reachable from them at <see cref="Alias"/>.</summary>
public sealed record PlannedService(string Alias, string Image, IReadOnlyList<EnvVar> Env, IReadOnlyList<string>? Command, PlannedReadiness? Readiness,
    ResourceLimits? Limits = null);

/// <summary>A directory cache: <see cref="Key"/> first, then each fallback key as a prefix, newest match first.</summary>
public sealed record PlannedCache(string Key, IReadOnlyList<string> FallbackKeys, IReadOnlyList<string> Paths, CachePolicy Policy);

public sealed record PlannedArtifacts(IReadOnlyList<string> Paths, TimeSpan ExpireIn, ArtifactsWhen When);

/// <summary>
/// A job ready to schedule: defaults applied, matrix cell chosen, strings interpolated.
/// <see cref="Id"/> is unique in the plan and is what <see cref="Needs"/> and <c>-j</c> name.
/// </summary>
public sealed record PlannedJob(
    string Id,
    string Name,
    string DisplayName,
    IReadOnlyDictionary<string, string> Matrix,
    IReadOnlyList<string> Needs,
    string? Image,
    IReadOnlyList<PlannedStep> Steps,
    IReadOnlyList<EnvVar> Env,
    ResourceLimits Limits,
    TimeSpan Timeout,
    RetryPolicy Retry,
    FailurePolicy AllowFailure,
    RunCondition Condition,
    string? SkipReason,
    IReadOnlyList<PlannedService> Services,
    IReadOnlyList<PlannedCache> Caches,
    PlannedArtifacts? Artifacts,
    string Workdir,
    string? User,
    NetworkMode Network,
    IReadOnlyDictionary<string, string> Variables)
{
    public bool IsSkipped => SkipReason is not null;
}
