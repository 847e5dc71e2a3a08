using System.Threading.Channels;
using Ci.Runner.Execution;
using Microsoft.Data.Sqlite;

namespace Ci.Runner.Records;

/// <summary>
/// Appends a run's log lines (already masked) to the record as they come, from any thread: a
/// single writer drains a queue and commits a transaction per batch, so a chatty step costs one
/// fsync-free commit per burst, not one per line. Dispose flushes what is queued.
/// </summary>
public sealed class RunLogWriter : IAsyncDisposable
{
    private const int BatchSize = 1000;

    private readonly SqliteConnection _db;
    private readonly long _runId;
    private readonly Channel<(StepOutputEvent Line, string Time)> _queue = Channel.CreateUnbounded<(StepOutputEvent, string)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    internal RunLogWriter(SqliteConnection db, long runId)
    {
        _db = db;
        _runId = runId;
        _writer = Task.Run(WriteAsync);
    }

    public void Append(StepOutputEvent line) => _queue.Writer.TryWrite((line, line.Time.ToString("O")));

    private async Task WriteAsync()
    {
        using var insert = RunStore.Command(_db, "INSERT INTO log_lines (run_id, job_id, step_index, is_error, time, text) VALUES ($run, $job, $step, $error, $time, $text)",
            ("$run", _runId), ("$job", ""), ("$step", 0), ("$error", false), ("$time", ""), ("$text", ""));
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            using var transaction = _db.BeginTransaction();
            insert.Transaction = transaction;
            for (var n = 0; n < BatchSize && reader.TryRead(out var item); n++)
            {
                insert.Parameters["$job"].Value = item.Line.Job;
                insert.Parameters["$step"].Value = item.Line.Step;
                insert.Parameters["$error"].Value = item.Line.IsError;
                insert.Parameters["$time"].Value = item.Time;
                insert.Parameters["$text"].Value = item.Line.Line;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        await _db.DisposeAsync();
    }
}
