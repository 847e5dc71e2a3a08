using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using static Ci.Runner.Engine.Records.Sql;

namespace Ci.Runner.Engine.Records;

/// <summary>
/// Appends a run's log lines (already masked) to the record as they come, from any thread: a
/// single writer drains a queue and commits a transaction per batch, so a chatty step costs one
/// fsync-free commit per burst, not one per line. Dispose flushes what is queued.
/// </summary>
public sealed class RunLogWriter : IRunLog
{
    private const int BatchSize = 1000;

    private readonly SqliteConnection _db;
    private readonly long _runId;
    private readonly Channel<(LogLine Line, string Time)> _queue = Channel.CreateUnbounded<(LogLine, string)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    internal RunLogWriter(SqliteConnection db, long runId)
    {
        _db = db;
        _runId = runId;
        _writer = Task.Run(WriteAsync);
    }

    public void Append(StepOutputEvent line) => _queue.Writer.TryWrite((new LogLine(line.Job, line.Step, null, line.IsError, line.Line), line.Time.ToString("O")));

    /// <summary>A service's line: kept apart from the steps' (<c>runner logs RUN JOB --service NAME</c>).</summary>
    public void Append(ServiceOutputEvent line) => _queue.Writer.TryWrite((new LogLine(line.Job, 0, line.Service, line.IsError, line.Line), line.Time.ToString("O")));

    private sealed record LogLine(string Job, int Step, string? Service, bool IsError, string Line);

    private async Task WriteAsync()
    {
        using var insert = Command(_db, "INSERT INTO log_lines (run_id, job_id, step_index, service, is_error, time, text) VALUES ($run, $job, $step, $service, $error, $time, $text)",
            ("$run", _runId), ("$job", ""), ("$step", 0), ("$service", DBNull.Value), ("$error", false), ("$time", ""), ("$text", ""));
        var reader = _queue.Reader;
        var pending = new List<(LogLine Line, string Time)>();
        while (await reader.WaitToReadAsync())
        {
            while (pending.Count < BatchSize && reader.TryRead(out var item))
            {
                pending.Add(item);
            }

            // A full disk (a step filling it) must not lose the lines: they wait in memory and go in once there is room,
            // at the latest when the run's directories are gone and the record is closed.
            if (TryInsert(insert, pending))
            {
                pending.Clear();
            }
        }

        for (var attempt = 0; pending.Count > 0 && attempt < 5; attempt++)
        {
            if (TryInsert(insert, pending))
            {
                pending.Clear();
                break;
            }

            await Task.Delay(200);
        }

        LostLines = pending.Count;
    }

    /// <summary>Lines the record could not keep (the disk stayed full to the end); 0 normally.</summary>
    public int LostLines { get; private set; }

    private bool TryInsert(SqliteCommand insert, List<(LogLine Line, string Time)> lines)
    {
        using var transaction = _db.BeginTransaction();
        insert.Transaction = transaction;
        try
        {
            foreach (var (line, time) in lines)
            {
                insert.Parameters["$job"].Value = line.Job;
                insert.Parameters["$step"].Value = line.Step;
                insert.Parameters["$service"].Value = (object?)line.Service ?? DBNull.Value;
                insert.Parameters["$error"].Value = line.IsError;
                insert.Parameters["$time"].Value = time;
                insert.Parameters["$text"].Value = line.Line;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
            return true;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteFull or SqliteIoError)
        {
            transaction.Rollback();
            return false;
        }
    }

    private const int SqliteFull = 13, SqliteIoError = 10;

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        await _db.DisposeAsync();
    }
}
