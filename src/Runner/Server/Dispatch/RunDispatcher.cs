using Ci.Runner.Engine.Queue;
using Ci.Runner.Server.Config;
using Ci.Runner.Server.Forges;
using Ci.Runner.Server.Hooks;
using Serilog;

namespace Ci.Runner.Server.Dispatch;

/// <summary>
/// Takes verified hooks into the durable queue and runs what is queued through the engine, within
/// the server's and each repository's limits: a newer push cancels its branch's older run, a
/// closed pull request cancels its own, a run a killed server left is run again once, and a
/// SIGTERM lets running runs finish within a grace period and leaves the rest queued.
/// Thread-safe: hooks arrive on the web server's threads while runs go on.
/// </summary>
public sealed partial class RunDispatcher(
    ServerConfig config,
    IRunQueue queue,
    QueuedRunExecutor executor,
    ICommitStatuses statuses,
    ServerMetrics metrics,
    ILogger log,
    string owner) : IAsyncDisposable
{
    /// <summary>A run a server stopped in is run again this many times in all (the first try included).</summary>
    public const int MaxAttempts = 2;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, ActiveRun> _active = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _closing = new();
    private Task? _loop;

    private sealed record ActiveRun(QueuedRun Run, Engine.RunStop Stop, Task Task)
    {
        /// <summary>Set when the server stops it to run later: it stays queued instead of ending as cancelled.</summary>
        public bool Requeued { get; set; }
    }

    /// <summary>Runs again, once, what a killed server was running (after the runtime removed what it left), then starts taking runs.</summary>
    public void Start()
    {
        foreach (var orphan in queue.Recover(token => token == owner || Ci.Isolation.Processes.ProcessIdentity.IsAliveToken(token), MaxAttempts))
        {
            log.Warning("Run {Id} of {Repository} was running when the server stopped; {What}", orphan.Id, orphan.Ticket.Repository,
                orphan.Attempt >= MaxAttempts ? "it ends as an error" : "it runs again");
        }

        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Queues a hook's run (or finds it already queued for that delivery) and answers with it.</summary>
    public async Task<Enqueued> AcceptAsync(HookEvent hook, RepositoryConfig repository)
    {
        var ticket = new RunTicket
        {
            Repository = repository.Name,
            DeliveryKey = $"{hook.Forge}:{hook.DeliveryId}".ToLowerInvariant(),
            Event = hook.Event,
            Branch = hook.Branch,
            Tag = hook.Tag,
            Commit = hook.Commit,
            Before = hook.Before,
            ChangedFiles = hook.ChangedFiles,
            PullRequest = hook.PullRequest,
            SourceBranch = hook.SourceBranch,
            Untrusted = hook.FromFork,
            Group = hook.ConcurrencyGroup,
            Title = hook.Title,
            Author = hook.Author,
        };
        var enqueued = await queue.EnqueueAsync(ticket, supersede: repository.CancelRedundant && hook.Event != Ci.Pipeline.Model.TriggerEvent.Tag);
        if (enqueued.Created)
        {
            metrics.Queued();
            statuses.Post(executor.Status(repository, enqueued.Run, CommitState.Pending, "queued"));
            foreach (var older in enqueued.Superseded)
            {
                if (older.State == QueueState.Running)
                {
                    StopRunning(older.Id, $"superseded by run {enqueued.Run.Id}");
                }
                else
                {
                    statuses.Post(executor.Status(repository, older, CommitState.Cancelled, $"superseded by run {enqueued.Run.Id}"));
                }
            }

            Wake();
        }

        return enqueued;
    }

    /// <summary>A closed or merged pull request: its queued and running runs are cancelled.</summary>
    public IReadOnlyList<long> CancelGroup(RepositoryConfig repository, string group, string note)
    {
        var cancelled = new List<long>();
        foreach (var run in queue.Active(repository.Name, group))
        {
            Cancel(run.Id, note);
            cancelled.Add(run.Id);
        }

        return cancelled;
    }

    /// <summary>Cancels a queued or running run; false when it has ended (or does not exist).</summary>
    public bool Cancel(long id, string note)
    {
        var found = queue.Find(id);
        if (found is null or { State: QueueState.Done })
        {
            return false;
        }

        if (queue.Cancel(id, note) is null)
        {
            if (executor.Repository(found.Ticket.Repository) is { } repo)
            {
                statuses.Post(executor.Status(repo, found, CommitState.Cancelled, note));
            }

            return true;
        }

        return StopRunning(id, note) || true;
    }

    /// <summary>Queues the same trigger again as a new run.</summary>
    public async Task<QueuedRun?> RerunAsync(long id)
    {
        if (queue.Find(id) is null)
        {
            return null;
        }

        var run = await queue.RerunAsync(id, $"rerun:{id}:{Guid.NewGuid()}");
        if (executor.Repository(run.Ticket.Repository) is { } repo)
        {
            statuses.Post(executor.Status(repo, run, CommitState.Pending, "queued (re-run)"));
        }

        Wake();
        return run;
    }

    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _active.Count;
            }
        }
    }

    private void Wake() => _wake.Release();

    private bool StopRunning(long id, string note)
    {
        lock (_gate)
        {
            if (!_active.TryGetValue(id, out var active))
            {
                return false;
            }

            log.Information("Stopping run {Id}: {Why}", id, note);
            executor.NoteStop(id, note);
            active.Stop.Stop();
            return true;
        }
    }
}
