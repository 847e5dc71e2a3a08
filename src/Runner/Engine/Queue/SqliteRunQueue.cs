using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using static Ci.Runner.Engine.Records.Sql;

namespace Ci.Runner.Engine.Queue;

/// <summary>
/// The embedded <see cref="IRunQueue"/>: one SQLite database in the state directory
/// (STATE/queue.db), WAL, and synchronous FULL so that a run the server has answered for is on
/// the disk, not only in the page cache, before the answer goes out. Every write of a process goes
/// through its one writer thread in batches (group commit); each batch takes the write lock first
/// (BEGIN IMMEDIATE), so two processes on one store never claim one run.
/// </summary>
public sealed partial class SqliteRunQueue : IRunQueue
{
    private const int SchemaVersion = 1;
    private readonly string _connectionString;
    private readonly Lock _writeGate = new();
    private List<PendingWrite> _waiting = [];
    private bool _writing;

    private SqliteRunQueue(string path) =>
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();

    public static SqliteRunQueue Open(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        var queue = new SqliteRunQueue(new StateLayout(stateDirectory).RunQueue);
        using var db = queue.Connect();
        Execute(db, "PRAGMA journal_mode = WAL");
        var current = Convert.ToInt32(Scalar(db, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (current > SchemaVersion)
        {
            throw new InvalidOperationException($"the run queue {new StateLayout(stateDirectory).RunQueue} is of a newer runner (schema {current}; this one knows {SchemaVersion})");
        }

        Execute(db, """
            CREATE TABLE IF NOT EXISTS queue (
                id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_key TEXT NOT NULL UNIQUE, repository TEXT NOT NULL, grp TEXT NOT NULL,
                ticket TEXT NOT NULL, state TEXT NOT NULL, status TEXT, note TEXT, attempt INTEGER NOT NULL DEFAULT 0,
                queued TEXT NOT NULL, started TEXT, finished TEXT, run_ids TEXT NOT NULL DEFAULT '', owner TEXT, jobs TEXT);
            CREATE INDEX IF NOT EXISTS queue_by_state ON queue (state, id);
            CREATE INDEX IF NOT EXISTS queue_by_group ON queue (repository, grp, state);
            PRAGMA user_version = 1;
            """);
        return queue;
    }

    public async Task<Enqueued> EnqueueAsync(RunTicket ticket, bool supersede) =>
        (Enqueued)(await WriteAsync(db => EnqueueIn(db, ticket, supersede)))!;

    /// <summary>
    /// Every write of this process goes through one writer thread, in batches: what arrived while
    /// the last commit was being synced goes in the next transaction (group commit), so a burst of
    /// hooks costs one fsync per batch, and no two writers of this process ever wait for each
    /// other's lock (measured: claims and finishes taking the lock between enqueues held hook
    /// answers up to a second). Each caller hears back only after its write is on the disk.
    /// </summary>
    private Task<object?> WriteAsync(Func<SqliteConnection, object?> work)
    {
        var pending = new PendingWrite(work, new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_writeGate)
        {
            _waiting.Add(pending);
            if (!_writing)
            {
                _writing = true;
                // Its own thread: the commit blocks in fsync, and a pool thread held there is one the callers' continuations wait for.
                _ = Task.Factory.StartNew(WriteBatches, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }

        return pending.Done.Task;
    }

    /// <summary>A write for a synchronous caller (the dispatcher's loop): it waits on the writer thread, never on a pool thread.</summary>
    private T Write<T>(Func<SqliteConnection, T> work) => (T)WriteAsync(db => work(db)).GetAwaiter().GetResult()!;

    private void Write(Action<SqliteConnection> work) => WriteAsync(db =>
    {
        work(db);
        return null;
    }).GetAwaiter().GetResult();

    private void WriteBatches()
    {
        while (true)
        {
            List<PendingWrite> batch;
            lock (_writeGate)
            {
                if (_waiting.Count == 0)
                {
                    _writing = false;
                    return;
                }

                batch = _waiting;
                _waiting = [];
            }

            try
            {
                using var db = Connect();
                using var transaction = db.BeginTransaction(deferred: false);
                var results = batch.Select(p => p.Work(db)).ToList();
                transaction.Commit();
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.SetResult(results[i]);
                }
            }
            catch (Exception) when (batch.Count > 1)
            {
                // One write failed the batch: each again alone, so that only that one fails.
                foreach (var pending in batch)
                {
                    try
                    {
                        using var db = Connect();
                        using var transaction = db.BeginTransaction(deferred: false);
                        var result = pending.Work(db);
                        transaction.Commit();
                        pending.Done.SetResult(result);
                    }
                    catch (Exception ex)
                    {
                        pending.Done.TrySetException(ex);
                    }
                }
            }
            catch (Exception ex)
            {
                batch.ForEach(p => p.Done.TrySetException(ex));
            }
        }
    }

    private sealed record PendingWrite(Func<SqliteConnection, object?> Work, TaskCompletionSource<object?> Done);

    private static Enqueued EnqueueIn(SqliteConnection db, RunTicket ticket, bool supersede)
    {
        var id = Scalar(db, """
            INSERT INTO queue (delivery_key, repository, grp, ticket, state, queued) VALUES ($key, $repo, $group, $ticket, 'queued', $now)
            ON CONFLICT (delivery_key) DO NOTHING RETURNING id
            """, ("$key", ticket.DeliveryKey), ("$repo", ticket.Repository), ("$group", ticket.Group),
            ("$ticket", JsonSerializer.Serialize(ticket, QueueJson.Default.RunTicket)), ("$now", Now()));
        if (id is not long created)
        {
            return new Enqueued(Read(db, "WHERE delivery_key = $key", ("$key", ticket.DeliveryKey))[0], false, []);
        }

        var superseded = new List<QueuedRun>();
        if (supersede)
        {
            superseded.AddRange(Read(db, "WHERE repository = $repo AND grp = $group AND state IN ('queued', 'running') AND id < $id",
                ("$repo", ticket.Repository), ("$group", ticket.Group), ("$id", created)));
            Execute(db, """
                UPDATE queue SET state = 'done', status = 'cancelled', note = $note, finished = $now
                WHERE repository = $repo AND grp = $group AND state = 'queued' AND id < $id
                """, ("$note", $"superseded by run {created}"), ("$now", Now()), ("$repo", ticket.Repository), ("$group", ticket.Group), ("$id", created));
        }

        return new Enqueued(Read(db, "WHERE id = $id", ("$id", created))[0], true, superseded);
    }

    public QueuedRun? Claim(string owner, Func<string, bool> admissible) => Write(db =>
    {
        long? chosen = null;
        using (var query = Command(db, "SELECT id, repository FROM queue WHERE state = 'queued' ORDER BY id"))
        using (var reader = query.ExecuteReader())
        {
            var refused = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read())
            {
                var repository = reader.GetString(1);
                if (!refused.Contains(repository) && (admissible(repository) || !refused.Add(repository)))
                {
                    chosen = reader.GetInt64(0);
                    break;
                }
            }
        }

        if (chosen is not { } id)
        {
            return null;
        }

        Execute(db, "UPDATE queue SET state = 'running', owner = $owner, started = $now, attempt = attempt + 1 WHERE id = $id",
            ("$owner", owner), ("$now", Now()), ("$id", id));
        return Read(db, "WHERE id = $id", ("$id", id))[0];
    });

    public void Attach(long id, long runId, IReadOnlyList<PlannedJobView> jobs) => Write(db =>
        Execute(db, "UPDATE queue SET run_ids = trim(run_ids || ' ' || $run), jobs = $jobs WHERE id = $id", ("$run", runId.ToString(CultureInfo.InvariantCulture)),
            ("$jobs", JsonSerializer.Serialize(jobs.ToList(), QueueJson.Default.ListPlannedJobView)), ("$id", id)));

    public void Finish(long id, string status, string? note) => Write(db =>
        Execute(db, "UPDATE queue SET state = 'done', status = $status, note = coalesce($note, note), finished = $now WHERE id = $id",
            ("$status", status), ("$note", note), ("$now", Now()), ("$id", id)));

    public QueuedRun? Cancel(long id, string note) => Write(db =>
    {
        var found = Read(db, "WHERE id = $id", ("$id", id)).FirstOrDefault();
        if (found is { State: QueueState.Queued })
        {
            Execute(db, "UPDATE queue SET state = 'done', status = 'cancelled', note = $note, finished = $now WHERE id = $id",
                ("$note", note), ("$now", Now()), ("$id", id));
        }

        return found is { State: QueueState.Running } ? found : null;
    });

    public IReadOnlyList<QueuedRun> Active(string repository, string group)
    {
        using var db = Connect();
        return Read(db, "WHERE repository = $repo AND grp = $group AND state IN ('queued', 'running') ORDER BY id", ("$repo", repository), ("$group", group));
    }

    public void Requeue(long id, string note) => Write(db =>
        Execute(db, "UPDATE queue SET state = 'queued', owner = NULL, note = $note WHERE id = $id AND state = 'running'", ("$note", note), ("$id", id)));

    public IReadOnlyList<QueuedRun> Recover(Func<string, bool> isAlive, int maxAttempts)
    {
        using var db = Connect();
        using var transaction = db.BeginTransaction(deferred: false);
        var orphans = Read(db, "WHERE state = 'running' ORDER BY id").Where(r => r.Owner is null || !isAlive(r.Owner)).ToList();
        foreach (var run in orphans)
        {
            if (run.Attempt >= maxAttempts)
            {
                Execute(db, "UPDATE queue SET state = 'done', status = 'error', note = $note, finished = $now WHERE id = $id",
                    ("$note", $"the server stopped during this run {run.Attempt} times; not run again"), ("$now", Now()), ("$id", run.Id));
            }
            else
            {
                Execute(db, "UPDATE queue SET state = 'queued', owner = NULL, note = $note WHERE id = $id",
                    ("$note", "retry: the server was restarted while this run was running"), ("$id", run.Id));
            }
        }

        transaction.Commit();
        return orphans;
    }

    public async Task<QueuedRun> RerunAsync(long id, string deliveryKey)
    {
        var original = Find(id) ?? throw new InvalidOperationException($"there is no run {id}");
        return (await EnqueueAsync(original.Ticket with { DeliveryKey = deliveryKey }, supersede: false)).Run;
    }

    public QueuedRun? Find(long id)
    {
        using var db = Connect();
        return Read(db, "WHERE id = $id", ("$id", id)).FirstOrDefault();
    }

    public IReadOnlyList<QueuedRun> List(int limit, string? repository = null)
    {
        using var db = Connect();
        return repository is null
            ? Read(db, "ORDER BY id DESC LIMIT $limit", ("$limit", limit))
            : Read(db, "WHERE repository = $repo ORDER BY id DESC LIMIT $limit", ("$repo", repository), ("$limit", limit));
    }

    public (int Depth, TimeSpan OldestWait) Waiting()
    {
        using var db = Connect();
        using var query = Command(db, "SELECT count(*), min(queued) FROM queue WHERE state = 'queued'");
        using var reader = query.ExecuteReader();
        reader.Read();
        var oldest = reader.IsDBNull(1) ? TimeSpan.Zero : DateTimeOffset.UtcNow - Time(reader.GetString(1));
        return (reader.GetInt32(0), oldest < TimeSpan.Zero ? TimeSpan.Zero : oldest);
    }
}

/// <summary>The ticket's stored form: source-generated, for NativeAOT.</summary>
[JsonSerializable(typeof(RunTicket))]
[JsonSerializable(typeof(List<PlannedJobView>))]
internal sealed partial class QueueJson : JsonSerializerContext;
