namespace Ci.Runner.Engine.Queue;

/// <summary>
/// What a queued run is to do, as its trigger gave it: which repository, which commit, and the
/// trigger the pipeline is compiled for. Written to the queue before the trigger is answered.
/// </summary>
public sealed record RunTicket
{
    /// <summary>The repository as the server's configuration names it.</summary>
    public required string Repository { get; init; }

    /// <summary>What makes two triggers the same trigger (forge and delivery id): the second gets the first's run.</summary>
    public required string DeliveryKey { get; init; }

    public required Ci.Pipeline.Model.TriggerEvent Event { get; init; }

    public string Branch { get; init; } = "";

    public string Tag { get; init; } = "";

    public required string Commit { get; init; }

    public string? Before { get; init; }

    public IReadOnlyList<string>? ChangedFiles { get; init; }

    public int? PullRequest { get; init; }

    public string? SourceBranch { get; init; }

    /// <summary>Runs without the repository's secrets (a pull request from a fork).</summary>
    public bool Untrusted { get; init; }

    /// <summary>Runs of one group supersede each other: a branch's pushes, a pull request's updates.</summary>
    public required string Group { get; init; }

    public string Title { get; init; } = "";

    public string Author { get; init; } = "";
}

/// <summary>Where a queued run stands.</summary>
public enum QueueState
{
    Queued,
    Running,
    Done,
}

/// <summary>
/// A queued run and what became of it. <see cref="Status"/> is the outcome once done (passed,
/// failed, cancelled, error, not triggered); <see cref="RunIds"/> the engine's run records of its
/// attempts, the last one current.
/// </summary>
public sealed record QueuedRun(long Id, RunTicket Ticket, QueueState State, string? Status, string? Note, int Attempt,
    DateTimeOffset Queued, DateTimeOffset? Started, DateTimeOffset? Finished, IReadOnlyList<long> RunIds, string? Owner)
{
    /// <summary>The current attempt's jobs as planned; empty before it started.</summary>
    public IReadOnlyList<PlannedJobView> Jobs { get; init; } = [];

    public long? RunId => RunIds.Count > 0 ? RunIds[^1] : null;
}

/// <summary>What <see cref="IRunQueue.Enqueue"/> did: queued it now, or found the same trigger queued before.</summary>
public sealed record Enqueued(QueuedRun Run, bool Created, IReadOnlyList<QueuedRun> Superseded);
