using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Hooks;

/// <summary>What a verified hook asks of the server.</summary>
public enum HookAction
{
    /// <summary>A push to a branch, a tag push, or a pull request opened, updated with commits or reopened: queue a run.</summary>
    Run,

    /// <summary>A pull request closed or merged: cancel its queued or running run.</summary>
    CancelPullRequest,

    /// <summary>Answered, nothing else (a ping, a branch deletion, an event the server does not run for).</summary>
    Ignore,
}

/// <summary>
/// A webhook, read and verified: which repository, what happened and at which commit, in the
/// forge-neutral terms the server and the engine use (the engine's <c>--event</c>, <c>--branch</c>,
/// <c>--tag</c> and <c>--changed</c>).
/// </summary>
public sealed record HookEvent
{
    public required ForgeKind Forge { get; init; }

    /// <summary>The forge's delivery id (a redelivery keeps it); the server's when the forge sends none.</summary>
    public required string DeliveryId { get; init; }

    /// <summary>The repository as the forge names it (owner/name, group/project).</summary>
    public required string Repository { get; init; }

    public required HookAction Action { get; init; }

    /// <summary>Why a hook is ignored, in words the hook's sender sees.</summary>
    public string? Note { get; init; }

    public Ci.Pipeline.Model.TriggerEvent Event { get; init; } = Ci.Pipeline.Model.TriggerEvent.Push;

    /// <summary>The branch pushed to; for a pull request, the branch it targets.</summary>
    public string Branch { get; init; } = "";

    public string Tag { get; init; } = "";

    /// <summary>The commit to run (a pull request's head).</summary>
    public string Commit { get; init; } = "";

    /// <summary>The pushed branch's commit before the push (null for a new branch, tags and pull requests).</summary>
    public string? Before { get; init; }

    /// <summary>From the payload when it lists every changed file; null when it does not (the server then asks the mirror).</summary>
    public IReadOnlyList<string>? ChangedFiles { get; init; }

    public int? PullRequest { get; init; }

    /// <summary>A pull request's own branch (in the fork, for one from a fork).</summary>
    public string? SourceBranch { get; init; }

    /// <summary>A pull request from another repository: it runs without the repository's secrets.</summary>
    public bool FromFork { get; init; }

    /// <summary>The head commit's message or the pull request's title, first line.</summary>
    public string Title { get; init; } = "";

    public string Author { get; init; } = "";

    /// <summary>Runs that supersede each other: the same branch's pushes, the same pull request's updates.</summary>
    public string ConcurrencyGroup => PullRequest is { } number ? $"pr/{number}" : Event == Ci.Pipeline.Model.TriggerEvent.Tag ? $"tag/{Tag}" : $"branch/{Branch}";
}

/// <summary>A hook the server refuses: the HTTP status and the reason (counted, logged with the delivery id, never with the body).</summary>
public sealed class HookRejectedException(int status, string reason, string message) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>A short label for metrics: bad_signature, no_secret, unknown_repository, malformed, …</summary>
    public string Reason { get; } = reason;
}
