using System.Collections.Concurrent;
using Ci.Pipeline.Plan;
using Ci.Pipeline.Secrets;
using Ci.Runner.Engine;
using Ci.Runner.Engine.Queue;
using Ci.Runner.Server.Config;
using Ci.Runner.Server.Forges;
using Serilog;

namespace Ci.Runner.Server.Dispatch;

/// <summary>
/// Runs one claimed run through the engine, exactly as <c>runner exec --url URL --ref COMMIT
/// --event … --branch …</c> would, and tells everyone who follows it: the live viewers, the forge
/// (pending → running → the outcome, per job when configured), the metrics and the queue.
/// </summary>
public sealed class QueuedRunExecutor(
    ServerConfig config,
    IReadOnlyDictionary<string, (RepositoryConfig Config, RunService Engine)> repositories,
    IRunQueue queue,
    LiveRuns live,
    ICommitStatuses statuses,
    ServerMetrics metrics,
    ILogger log)
{
    public const string Context = "runner";

    private readonly ConcurrentDictionary<long, string> _stopNotes = new();

    public RepositoryConfig? Repository(string name) => repositories.TryGetValue(name, out var found) ? found.Config : null;

    /// <summary>The page of a run: where a commit status links to.</summary>
    public Uri RunPage(long id) => new(config.BaseUrl, $"runs/{id}");

    public CommitStatus Status(RepositoryConfig repository, QueuedRun run, CommitState state, string description, string context = Context) =>
        new(repository, run.Ticket.Commit, context, state, description, RunPage(run.Id));

    /// <summary>Why the server stopped a run (superseded, cancelled by someone): said in its outcome.</summary>
    public void NoteStop(long id, string note) => _stopNotes[id] = note;

    public async Task RunAsync(QueuedRun run, RunStop stop, Func<bool> requeued)
    {
        var ticket = run.Ticket;
        if (!repositories.TryGetValue(ticket.Repository, out var repository))
        {
            queue.Finish(run.Id, "error", $"the server no longer runs {ticket.Repository} (not in its configuration)");
            return;
        }

        var (repo, engine) = repository;
        var masker = new SecretMasker();
        live.Begin(run.Id, masker);
        try
        {
            var started = DateTimeOffset.UtcNow;
            metrics.Started(started - run.Queued);
            statuses.Post(Status(repo, run, CommitState.Running, run.Attempt > 1 ? "running (again: the server restarted)" : "running"));
            var (status, note) = await RunEngineAsync(run, repo, engine, stop, masker);
            _stopNotes.TryRemove(run.Id, out var stopNote);
            if (requeued())
            {
                return; // it runs again after the server's restart; its status stays "running"
            }

            note = masker.Apply(stopNote is not null && status == "cancelled" ? $"cancelled: {stopNote}" : note ?? "");
            queue.Finish(run.Id, status, note);
            metrics.Finished(status, DateTimeOffset.UtcNow - started);
            statuses.Post(Status(repo, run, status switch
            {
                "passed" or "skipped" => CommitState.Success,
                "failed" or "invalid" => CommitState.Failure,
                "cancelled" => CommitState.Cancelled,
                _ => CommitState.Error,
            }, note ?? status));
            log.Information("Run {Id} of {Repository} at {Commit}: {Status}", run.Id, repo.Name, ticket.Commit[..12], status);
        }
        finally
        {
            live.End(run.Id);
        }
    }

    private async Task<(string Status, string? Note)> RunEngineAsync(QueuedRun run, RepositoryConfig repo, RunService engine, RunStop stop, SecretMasker masker)
    {
        var ticket = run.Ticket;
        var isPullRequest = ticket.Event == Ci.Pipeline.Model.TriggerEvent.PullRequest;
        var secrets = ticket.Untrusted ? RunSecrets.None : RunSecrets.FromValues(repo.Secrets.ToDictionary(s => s.Key, s => s.Value.Value, StringComparer.Ordinal));
        using var prepared = await engine.PrepareAsync(new RunRequest
        {
            Source = new SourceRequest
            {
                Url = repo.CloneUrl,
                Ref = ticket.Commit,
                ChangesSince = ticket.ChangedFiles is null ? ticket.Before ?? (isPullRequest ? ticket.Branch : null) : null,
            },
            PipelineFile = repo.PipelineFile,
            Trigger = new TriggerContext { Event = ticket.Event, Tag = ticket.Tag, ChangedFiles = ticket.ChangedFiles },
            Branch = ticket.Branch,
            Secrets = secrets,
            Parallel = config.JobsPerRun,
        }, stop.Graceful);
        if (prepared.NotTriggered is { } why)
        {
            return ("skipped", $"not triggered: {why}");
        }

        if (!prepared.CanRun)
        {
            var problems = prepared.Error ?? string.Join("\n", prepared.Diagnostics.Where(d => d.IsError).Take(20));
            live.Report(run.Id, new JobNotice("", problems));
            return (prepared.Error is null ? "invalid" : "error", prepared.Error is null ? "the pipeline is invalid: " + problems.Split('\n')[0] : problems);
        }

        var outcome = await engine.RunAsync(prepared, masker, e => Observe(run, repo, e), stop);
        var failed = outcome.Jobs.Where(j => j.Status == RunStatus.Failed).Select(j => j.Id).ToList();
        return (outcome.Status, outcome.Status switch
        {
            "passed" => $"passed: {outcome.Jobs.Count} jobs",
            "failed" => $"failed: {string.Join(", ", failed)}",
            _ => outcome.Jobs.FirstOrDefault(j => j.Reason is not null)?.Reason ?? outcome.Status,
        });
    }

    private void Observe(QueuedRun run, RepositoryConfig repo, RunEvent e)
    {
        live.Report(run.Id, e);
        switch (e)
        {
            case RunStarted started:
                queue.Attach(run.Id, started.Run, started.Jobs);
                break;
            case StepFinished finished:
                metrics.Step(finished.Result);
                break;
            case JobStarted job when repo.Status is { PerJob: true }:
                statuses.Post(Status(repo, run, CommitState.Running, "running", $"{Context}/{job.Job}"));
                break;
            case JobFinished job when repo.Status is { PerJob: true }:
                statuses.Post(Status(repo, run, job.Result.Status switch
                {
                    RunStatus.Passed or RunStatus.Cached or RunStatus.AllowedFailure or RunStatus.Skipped => CommitState.Success,
                    _ => job.Result.InfrastructureFailure ? CommitState.Error : CommitState.Failure,
                }, job.Describe(), $"{Context}/{job.Job}"));
                break;
        }
    }
}
