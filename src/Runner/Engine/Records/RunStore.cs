using Microsoft.Data.Sqlite;
using static Ci.Runner.Engine.Records.Sql;

namespace Ci.Runner.Engine.Records;

/// <summary>A runner as its run records name it (<see cref="Token"/>), and the one way to tell whether the runner a token names still lives.</summary>
public sealed record RunnerIdentity(string Token, Func<string, bool> IsAlive);

/// <summary>What started a run.</summary>
public sealed record RunOrigin(string Repository, string Commit, string Branch, string Event);

/// <summary>
/// The record of every run (<c>runner runs</c>, <c>runner logs</c>, and later the server): an
/// embedded SQLite database in the state directory, STATE/runs.db. A run is written when it
/// starts (status running, with the runner's pid), its log lines as they come
/// (<see cref="RunLogWriter"/>), and its jobs and steps when it ends. A run whose runner died
/// reads as interrupted. WAL mode: readers never wait for a running writer.
/// </summary>
public sealed partial class RunStore : IRunRecords
{
    private const int SchemaVersion = 3;

    private readonly string _connectionString;
    private readonly RunnerIdentity _runner;

    private RunStore(string path, RunnerIdentity runner)
    {
        _runner = runner;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString();
    }

    /// <param name="runner">This runner, as the runs it records name it, and how to tell whether the runner of a run still lives (a run whose runner is gone reads as interrupted).</param>
    public static RunStore Open(string stateDirectory, RunnerIdentity runner)
    {
        Directory.CreateDirectory(stateDirectory);
        var store = new RunStore(new StateLayout(stateDirectory).RunRecords, runner);
        using var db = store.Connect();
        using (var wal = Command(db, "PRAGMA journal_mode = WAL"))
        {
            wal.ExecuteNonQuery();
        }

        using var version = Command(db, "PRAGMA user_version");
        var current = Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > SchemaVersion)
        {
            throw new InvalidOperationException($"the run record {new StateLayout(stateDirectory).RunRecords} is of a newer runner (schema {current}; this one knows {SchemaVersion})");
        }

        if (current < SchemaVersion)
        {
            using var create = Command(db, """
                CREATE TABLE IF NOT EXISTS runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,
                    repository TEXT NOT NULL, commit_id TEXT NOT NULL, branch TEXT NOT NULL, event TEXT NOT NULL, pid INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS jobs (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, job_id TEXT NOT NULL, status TEXT NOT NULL,
                    duration_ms INTEGER NOT NULL, reason TEXT, PRIMARY KEY (run_id, job_id));
                CREATE TABLE IF NOT EXISTS steps (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, job_id TEXT NOT NULL, step_index INTEGER NOT NULL,
                    name TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER, signal INTEGER, oom_killed INTEGER NOT NULL,
                    timed_out INTEGER NOT NULL, duration_ms INTEGER, cpu_ms INTEGER, peak_memory INTEGER, cached_from TEXT,
                    attempts INTEGER NOT NULL, reason TEXT, PRIMARY KEY (run_id, job_id, step_index));
                CREATE TABLE IF NOT EXISTS log_lines (
                    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, job_id TEXT NOT NULL,
                    step_index INTEGER NOT NULL, is_error INTEGER NOT NULL, time TEXT NOT NULL, text TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS log_lines_by_step ON log_lines (run_id, job_id, step_index, id);
                """);
            create.ExecuteNonQuery();
            if (current < 2)
            {
                // Version 2: the runner that records a run is named with its start time too, so a reused pid is not taken for it.
                using var owner = Command(db, "ALTER TABLE runs ADD COLUMN owner TEXT; PRAGMA user_version = 2;");
                owner.ExecuteNonQuery();
            }

            if (current < 3)
            {
                // Version 3: services' lines are kept with the run, named by their service (NULL for a step's line).
                using var service = Command(db, "ALTER TABLE log_lines ADD COLUMN service TEXT; PRAGMA user_version = 3;");
                service.ExecuteNonQuery();
            }
        }

        return store;
    }

    /// <summary>Records a run that starts now; returns its number.</summary>
    public long StartRun(RunOrigin origin)
    {
        using var db = Connect();
        using var insert = Command(db, """
            INSERT INTO runs (started, status, repository, commit_id, branch, event, pid, owner)
            VALUES ($started, 'running', $repository, $commit, $branch, $event, $pid, $owner) RETURNING id
            """,
            ("$started", Now()), ("$repository", origin.Repository), ("$commit", origin.Commit), ("$branch", origin.Branch),
            ("$event", origin.Event), ("$pid", Environment.ProcessId), ("$owner", _runner.Token));
        return (long)insert.ExecuteScalar()!;
    }

    /// <summary>Records how the run ended, with every job and step, in one transaction.</summary>
    public void FinishRun(long runId, string status, IReadOnlyList<JobResult> jobs)
    {
        using var db = Connect();
        using var transaction = db.BeginTransaction();
        foreach (var job in jobs)
        {
            using var insertJob = Command(db, "INSERT OR REPLACE INTO jobs VALUES ($run, $job, $status, $duration, $reason)",
                ("$run", runId), ("$job", job.Id), ("$status", StatusName(job.Status)), ("$duration", (long)job.Duration.TotalMilliseconds),
                ("$reason", job.Reason));
            insertJob.ExecuteNonQuery();
            foreach (var step in job.Steps)
            {
                var o = step.Outcome;
                using var insertStep = Command(db, """
                    INSERT OR REPLACE INTO steps VALUES ($run, $job, $index, $name, $status, $exit, $signal, $oom, $timedOut,
                        $duration, $cpu, $peak, $cachedFrom, $attempts, $reason)
                    """,
                    ("$run", runId), ("$job", job.Id), ("$index", step.Index), ("$name", step.Name), ("$status", StatusName(step.Status)),
                    ("$exit", o?.ExitCode), ("$signal", o?.Signal), ("$oom", o?.OomKilled ?? false), ("$timedOut", o?.TimedOut ?? false),
                    ("$duration", o is null ? null : (long)o.Duration.TotalMilliseconds), ("$cpu", o is null ? null : (long)o.CpuTime.TotalMilliseconds),
                    ("$peak", o?.PeakMemoryBytes), ("$cachedFrom", o?.CachedFrom?.ToString("O")), ("$attempts", step.Attempts), ("$reason", step.Reason));
                insertStep.ExecuteNonQuery();
            }
        }

        using var update = Command(db, "UPDATE runs SET status = $status, finished = $finished WHERE id = $run",
            ("$status", status), ("$finished", Now()), ("$run", runId));
        update.ExecuteNonQuery();
        transaction.Commit();
    }

    public IRunLog OpenLog(long runId) => new RunLogWriter(Connect(), runId);

    internal SqliteConnection Connect()
    {
        var db = new SqliteConnection(_connectionString);
        db.Open();
        // Per connection; WAL itself is a property of the file, set once in Open.
        using var pragmas = Command(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
        pragmas.ExecuteNonQuery();
        return db;
    }

    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Passed => "passed",
        RunStatus.Cached => "cached",
        RunStatus.Failed => "failed",
        RunStatus.AllowedFailure => "failed (allowed)",
        _ => "skipped",
    };
}
