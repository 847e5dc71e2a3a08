namespace Ci.Runner.Engine.Queue;

/// <summary>
/// The durable queue of runs a service does: triggers go in before they are answered, a worker
/// claims them, and what was claimed by a worker that died goes back once. Every method is one
/// atomic step of the store (a transaction), safe to call from any thread and from several
/// processes on one store: the embedded implementation is SQLite (<see cref="SqliteRunQueue"/>);
/// one on PostgreSQL (claims with FOR UPDATE SKIP LOCKED, wake-ups with LISTEN/NOTIFY) lets
/// several servers and agents share one queue.
/// Owners are worker identities (<see cref="Ci.Isolation.Processes.ProcessIdentity"/> tokens);
/// the queue asks the caller whether an owner still lives.
/// </summary>
public interface IRunQueue
{
    /// <summary>
    /// Queues <paramref name="ticket"/> unless a run with its delivery key exists (then returns
    /// that one, Created false). With <paramref name="supersede"/>, older runs of its repository
    /// and group that are queued end as cancelled, and those running are returned so that the
    /// caller stops them. Completes when the run is durably stored (the caller answers its
    /// trigger then); calls that arrive together may share one commit.
    /// </summary>
    Task<Enqueued> EnqueueAsync(RunTicket ticket, bool supersede);

    /// <summary>
    /// Claims the oldest queued run whose repository <paramref name="admissible"/> accepts (the
    /// caller's concurrency limits) for <paramref name="owner"/>: it becomes running. Null when none.
    /// </summary>
    QueuedRun? Claim(string owner, Func<string, bool> admissible);

    /// <summary>Names the engine's run record of the current attempt, and its jobs as planned (the graph its page draws).</summary>
    void Attach(long id, long runId, IReadOnlyList<PlannedJobView> jobs);

    /// <summary>Ends a run with its outcome (passed, failed, cancelled, error, skipped) and a note.</summary>
    void Finish(long id, string status, string? note);

    /// <summary>Ends a queued run as cancelled; returns it when it is running instead (the caller stops it) or null.</summary>
    QueuedRun? Cancel(long id, string note);

    /// <summary>Queued and running runs of a repository's group (a closed pull request's), for <see cref="Cancel"/>.</summary>
    IReadOnlyList<QueuedRun> Active(string repository, string group);

    /// <summary>Puts a running run back in the queue (a server stopping before it ended), with a note; its attempt counts.</summary>
    void Requeue(long id, string note);

    /// <summary>
    /// At a worker's start: runs whose owner is gone (<paramref name="isAlive"/> false) go back in
    /// the queue once, marked as a retry; one that was already retried ends as error. Returns them.
    /// </summary>
    IReadOnlyList<QueuedRun> Recover(Func<string, bool> isAlive, int maxAttempts);

    /// <summary>A new run of the same ticket (re-run), queued now.</summary>
    Task<QueuedRun> RerunAsync(long id, string deliveryKey);

    QueuedRun? Find(long id);

    /// <summary>Newest first; with <paramref name="repository"/>, only its runs.</summary>
    IReadOnlyList<QueuedRun> List(int limit, string? repository = null);

    /// <summary>How many wait, and how long the oldest has waited.</summary>
    (int Depth, TimeSpan OldestWait) Waiting();
}
