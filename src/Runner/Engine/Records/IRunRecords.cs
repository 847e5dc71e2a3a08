namespace Ci.Runner.Engine.Records;

/// <summary>
/// The record of every run: what the engine writes as a run goes (its start, every line, its end
/// with every job and step) and what hosts read back (<c>runner runs</c>, <c>runner logs</c>, the
/// server's pages). Thread-safe; several processes may share one store. The embedded
/// implementation is <see cref="RunStore"/> (SQLite); one on PostgreSQL lets several servers and
/// agents share the records as they share the queue (ADR 0007).
/// </summary>
public interface IRunRecords
{
    /// <summary>Records a run that starts now; returns its number.</summary>
    long StartRun(RunOrigin origin);

    /// <summary>Records how the run ended, with every job and step, at once.</summary>
    void FinishRun(long runId, string status, IReadOnlyList<JobResult> jobs);

    /// <summary>Where the run's lines go as they come; disposing it flushes them.</summary>
    IRunLog OpenLog(long runId);

    /// <summary>The newest runs first; a run whose runner is gone reads as interrupted.</summary>
    IReadOnlyList<RunSummary> ListRuns(int limit);

    /// <summary>A run by number, or the newest for "last"; null when there is none.</summary>
    long? FindRun(string idOrLast);

    IReadOnlyList<StepRecord> Steps(long runId);

    IReadOnlyList<JobRecord> Jobs(long runId);

    /// <summary>The run's lines in the order they came, of one job or step if named; with <paramref name="service"/>, that service's.</summary>
    IEnumerable<LogRecord> Logs(long runId, string? job, int? step, string? service = null);

    /// <summary>The services of a run's job that printed something.</summary>
    IReadOnlyList<string> Services(long runId, string job);
}

/// <summary>A run's lines on their way to the record (already masked), appended from any thread.</summary>
public interface IRunLog : IAsyncDisposable
{
    void Append(StepOutputEvent line);

    void Append(ServiceOutputEvent line);

    /// <summary>Lines the record could not keep (the disk stayed full).</summary>
    int LostLines { get; }
}
