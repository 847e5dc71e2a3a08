using Microsoft.Data.Sqlite;
using static Ci.Runner.Engine.Records.Sql;

namespace Ci.Runner.Engine.Records;

/// <summary>A run as <c>runner runs</c> lists it.</summary>
public sealed record RunSummary(long Id, DateTimeOffset Started, DateTimeOffset? Finished, string Status, string Repository,
    string Commit, string Branch, string Event, int JobsPassed, int JobsFailed);

/// <summary>A step of a recorded run: how it ended, what it cost, whether its layer came from the cache, and why it did not pass.</summary>
public sealed record StepRecord(string Job, int Index, string Name, string Status, int? ExitCode, long? DurationMs)
{
    public long? CpuMs { get; init; }

    public long? PeakMemoryBytes { get; init; }

    public bool OomKilled { get; init; }

    public bool TimedOut { get; init; }

    public DateTimeOffset? CachedFrom { get; init; }

    public string? Reason { get; init; }
}

/// <summary>A job of a recorded run: how it ended, and why when it did not pass (a pull that failed, a refused setting).</summary>
public sealed record JobRecord(string Job, string Status, string? Reason);

/// <summary>A recorded log line.</summary>
public sealed record LogRecord(string Job, int Step, bool IsError, DateTimeOffset Time, string Text);

public sealed partial class RunStore
{
    /// <summary>The newest runs first. A run still marked running whose runner is gone is marked interrupted.</summary>
    public IReadOnlyList<RunSummary> ListRuns(int limit)
    {
        using var db = Connect();
        MarkInterrupted(db);
        using var query = Command(db, """
            SELECT r.id, r.started, r.finished, r.status, r.repository, r.commit_id, r.branch, r.event,
                   (SELECT count(*) FROM jobs j WHERE j.run_id = r.id AND j.status IN ('passed', 'cached', 'failed (allowed)')),
                   (SELECT count(*) FROM jobs j WHERE j.run_id = r.id AND j.status = 'failed')
            FROM runs r ORDER BY r.id DESC LIMIT $limit
            """, ("$limit", limit));
        using var reader = query.ExecuteReader();
        var runs = new List<RunSummary>();
        while (reader.Read())
        {
            runs.Add(new RunSummary(reader.GetInt64(0), DateTimeOffset.Parse(reader.GetString(1), System.Globalization.CultureInfo.InvariantCulture),
                reader.IsDBNull(2) ? null : DateTimeOffset.Parse(reader.GetString(2), System.Globalization.CultureInfo.InvariantCulture),
                reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8), reader.GetInt32(9)));
        }

        return runs;
    }

    /// <summary>A run by number, or the newest for "last"; null when there is none.</summary>
    public long? FindRun(string idOrLast)
    {
        using var db = Connect();
        using var query = idOrLast == "last"
            ? Command(db, "SELECT max(id) FROM runs")
            : Command(db, "SELECT id FROM runs WHERE id = $id", ("$id", long.TryParse(idOrLast, out var id) ? id : -1));
        return query.ExecuteScalar() is long found ? found : null;
    }

    public IReadOnlyList<StepRecord> Steps(long runId)
    {
        using var db = Connect();
        using var query = Command(db, """
            SELECT job_id, step_index, name, status, exit_code, duration_ms, cpu_ms, peak_memory, oom_killed, timed_out, cached_from, reason
            FROM steps WHERE run_id = $run ORDER BY job_id, step_index
            """, ("$run", runId));
        using var reader = query.ExecuteReader();
        var steps = new List<StepRecord>();
        while (reader.Read())
        {
            steps.Add(new StepRecord(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetInt64(5))
            {
                CpuMs = reader.IsDBNull(6) ? null : reader.GetInt64(6),
                PeakMemoryBytes = reader.IsDBNull(7) ? null : reader.GetInt64(7),
                OomKilled = reader.GetInt64(8) != 0,
                TimedOut = reader.GetInt64(9) != 0,
                CachedFrom = reader.IsDBNull(10) ? null : DateTimeOffset.Parse(reader.GetString(10), System.Globalization.CultureInfo.InvariantCulture),
                Reason = reader.IsDBNull(11) ? null : reader.GetString(11),
            });
        }

        return steps;
    }

    public IReadOnlyList<JobRecord> Jobs(long runId)
    {
        using var db = Connect();
        using var query = Command(db, "SELECT job_id, status, reason FROM jobs WHERE run_id = $run ORDER BY rowid", ("$run", runId));
        using var reader = query.ExecuteReader();
        var jobs = new List<JobRecord>();
        while (reader.Read())
        {
            jobs.Add(new JobRecord(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return jobs;
    }

    /// <summary>The run's log lines in the order they came, optionally of one job or one step; with <paramref name="service"/>, that service's instead of the steps'.</summary>
    public IEnumerable<LogRecord> Logs(long runId, string? job, int? step, string? service = null)
    {
        using var db = Connect();
        using var query = Command(db, """
            SELECT job_id, step_index, is_error, time, text FROM log_lines
            WHERE run_id = $run AND ($job IS NULL OR job_id = $job) AND ($step IS NULL OR step_index = $step)
              AND (($service IS NULL AND service IS NULL) OR service = $service) ORDER BY id
            """, ("$run", runId), ("$job", job), ("$step", step), ("$service", service));
        using var reader = query.ExecuteReader();
        while (reader.Read())
        {
            yield return new LogRecord(reader.GetString(0), reader.GetInt32(1), reader.GetBoolean(2),
                DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture), reader.GetString(4));
        }
    }

    /// <summary>The services of a run's job that printed something, in the order they first did.</summary>
    public IReadOnlyList<string> Services(long runId, string job)
    {
        using var db = Connect();
        using var query = Command(db, "SELECT service FROM log_lines WHERE run_id = $run AND job_id = $job AND service IS NOT NULL GROUP BY service ORDER BY MIN(id)",
            ("$run", runId), ("$job", job));
        using var reader = query.ExecuteReader();
        var services = new List<string>();
        while (reader.Read())
        {
            services.Add(reader.GetString(0));
        }

        return services;
    }

    private void MarkInterrupted(SqliteConnection db)
    {
        using var running = Command(db, "SELECT id, pid, owner FROM runs WHERE status = 'running'");
        var dead = new List<long>();
        using (var reader = running.ExecuteReader())
        {
            while (reader.Read())
            {
                // Runs recorded before version 2 name their runner by pid alone.
                var owner = reader.IsDBNull(2) ? reader.GetInt32(1).ToString(System.Globalization.CultureInfo.InvariantCulture) : reader.GetString(2);
                if (!_runner.IsAlive(owner))
                {
                    dead.Add(reader.GetInt64(0));
                }
            }
        }

        foreach (var id in dead)
        {
            using var update = Command(db, "UPDATE runs SET status = 'interrupted' WHERE id = $id", ("$id", id));
            update.ExecuteNonQuery();
        }
    }
}
