using Ci.Pipeline.Compilation;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;
using Ci.Pipeline.Secrets;
using Ci.Runner.Engine.Records;

namespace Ci.Runner.Engine;

/// <summary>What to run: the sources, the pipeline file in them, the trigger, the secrets and how.</summary>
public sealed record RunRequest
{
    public required SourceRequest Source { get; init; }

    public string PipelineFile { get; init; } = Ci.Pipeline.Parsing.PipelineLoader.DefaultFile;

    /// <summary>The event, tag, changed files and variables; the commit is the sources', and so is the branch unless <see cref="Branch"/> says.</summary>
    public required TriggerContext Trigger { get; init; }

    /// <summary>The branch to run as (a webhook's, --branch); null: the one the sources stand on.</summary>
    public string? Branch { get; init; }

    public required RunSecrets Secrets { get; init; }

    /// <summary>Only these jobs (by id or name) and what they need; null: every job.</summary>
    public IReadOnlySet<string>? Jobs { get; init; }

    /// <summary>Jobs at once.</summary>
    public int Parallel { get; init; } = 2;

    public bool FailFast { get; init; }

    /// <summary>Open the backend's interactive reproduction of a step that failed (jobs then run one at a time).</summary>
    public bool ShellOnFailure { get; init; }
}

/// <summary>
/// A run made ready by <see cref="RunService.PrepareAsync"/>: its sources and plan, or why it
/// cannot run. The host shows <see cref="Diagnostics"/> and <see cref="Note"/> either way.
/// </summary>
public sealed class PreparedRun : IDisposable
{
    internal PreparedRun(RunRequest request) => Request = request;

    public RunRequest Request { get; }

    public IReadOnlyList<Diagnostic> Diagnostics { get; internal set; } = [];

    /// <summary>What the user should know about the sources (uncommitted changes left out).</summary>
    public string? Note { get; internal set; }

    /// <summary>Why the run cannot start when the diagnostics do not say it (no such source, no such job).</summary>
    public string? Error { get; internal set; }

    /// <summary>Set when the trigger does not match the pipeline's on: (nothing to run, not a failure).</summary>
    public string? NotTriggered { get; internal set; }

    internal PreparedSource? Source { get; set; }

    internal ExecutionPlan? Plan { get; set; }

    internal TriggerContext? Trigger { get; set; }

    public bool CanRun => Error is null && NotTriggered is null && Plan is not null;

    public void Dispose() => Source?.Dispose();
}

/// <summary>How a run ended: its record, its status, every job's result.</summary>
/// <param name="Status">passed, failed, cancelled (the host stopped it) or error (an infrastructure failure).</param>
public sealed record RunOutcome(long RunId, string Status, IReadOnlyList<JobResult> Jobs)
{
    public bool Cancelled => Status == "cancelled";

    public bool InfrastructureFailure => Jobs.Any(j => j.InfrastructureFailure) || Status == "error";

    public bool Failed => Jobs.Any(j => j.Status == RunStatus.Failed);
}

/// <summary>
/// Runs pipelines: what <c>runner exec</c> does, for every host (the CLI, the webhook server, an
/// agent). Prepare reads the sources and compiles the pipeline; Run records the run, makes the
/// run's backend, schedules the jobs, keeps every line in the record and says how it ended.
/// Knows nothing of containers: the sources and the backend come through their interfaces.
/// </summary>
public sealed class RunService(IRunSources sources, IStepBackendFactory backends, IRunRecords records)
{
    public async Task<PreparedRun> PrepareAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var run = new PreparedRun(request);
        PreparedSource source;
        try
        {
            source = await sources.PrepareAsync(request.Source, cancellationToken);
        }
        catch (SourceException ex)
        {
            run.Error = ex.Message;
            return run;
        }

        run.Source = source;
        run.Note = source.LeftOut;
        var trigger = request.Trigger with
        {
            Commit = source.Workspace.Commit,
            Branch = request.Branch ?? source.Branch,
            ChangedFiles = request.Trigger.ChangedFiles ?? source.ChangedFiles,
            AvailableSecrets = request.Secrets.Availability,
        };
        run.Trigger = trigger;
        var result = PipelineCompiler.Compile(source.Tree, request.PipelineFile, trigger);
        run.Diagnostics = result.Diagnostics;
        if (result.Plan is not { } plan)
        {
            return run; // the diagnostics say why
        }

        if (request.Jobs?.FirstOrDefault(n => !plan.Jobs.Any(j => j.Id == n || j.Name == n)) is { } unknown)
        {
            // Before anything is recorded or pulled: a typo must not run an empty pipeline and pass.
            var suggestion = Ci.Pipeline.Parsing.Suggestions.Nearest(unknown, plan.Jobs.Select(j => j.Name).Distinct()) is { } near ? $" (did you mean '{near}'?)" : "";
            run.Error = $"-j: the pipeline has no job '{unknown}'{suggestion}; its jobs: {string.Join(", ", plan.Jobs.Select(j => j.Id))}";
            return run;
        }

        if (!plan.IsTriggered)
        {
            run.NotTriggered = plan.NotTriggeredReason;
            return run;
        }

        run.Plan = plan;
        return run;
    }

    /// <param name="masker">Masks what anyone sees of the run; the run's secrets are added to it.</param>
    /// <param name="report">Every event of the run, as it happens; thread-safe. Lines are masked before they reach it.</param>
    public async Task<RunOutcome> RunAsync(PreparedRun run, SecretMasker masker, Action<RunEvent> report, RunStop stop, Action<bool>? interactiveSession = null)
    {
        if (!run.CanRun)
        {
            throw new InvalidOperationException("the run cannot start: " + (run.Error ?? run.NotTriggered ?? "the pipeline has errors"));
        }

        var (request, source, plan, trigger) = (run.Request, run.Source!, run.Plan!, run.Trigger!);
        var secrets = request.Secrets.ValuesFor(plan.Secrets);
        foreach (var value in secrets.Values)
        {
            masker.Add(value);
        }

        var workspace = source.Workspace;
        var runId = records.StartRun(new RunOrigin(workspace.Repository, workspace.Commit, trigger.Branch ?? "", trigger.Event.Name()));
        await using var log = records.OpenLog(runId);
        void Report(RunEvent e)
        {
            if (e is StepOutputEvent line)
            {
                log.Append(line);
            }
            else if (e is ServiceOutputEvent serviceLine)
            {
                log.Append(serviceLine);
                return; // kept with the run; the live view shows the services' states, not their output
            }

            report(e);
        }

        Report(new RunStarted(runId, [.. Scheduler.Select(plan, request.Jobs).Select(j => new PlannedJobView(j.Id, j.DisplayName, j.Needs, [.. j.Steps.Select(s => s.Name)], j.SkipReason))]));
        // Caches belong to the repository (its URL, or its path) and to the branch; a pull request's are its own.
        var scope = new CacheScope(workspace.Repository, trigger.Branch ?? "", source.DefaultBranch, trigger.Event == Ci.Pipeline.Model.TriggerEvent.PullRequest);
        IReadOnlyList<JobResult> jobs;
        IStepBackend backend;
        try
        {
            backend = backends.Create(new RunContext(runId, secrets, scope, Report, stop) { InteractiveSession = interactiveSession });
        }
        catch (BackendException ex)
        {
            Report(new JobNotice("", $"cannot run steps here: {ex.Message}"));
            records.FinishRun(runId, "error", []);
            return new RunOutcome(runId, "error", []);
        }

        await using (backend)
        {
            var scheduler = new Scheduler(backend, request.ShellOnFailure ? 1 : Math.Max(1, request.Parallel), masker, Report)
            {
                ShellOnFailure = request.ShellOnFailure,
                FailFast = request.FailFast,
                RunId = runId,
            };
            jobs = await scheduler.RunAsync(plan, request.Jobs, workspace, stop);
        }

        // After the backend's clean-up freed what the steps wrote: log lines a full disk held back can go in now.
        await log.DisposeAsync();
        if (log.LostLines > 0)
        {
            Report(new JobNotice("", $"the run record could not keep {log.LostLines} log lines: the disk stayed full"));
        }

        var status = stop.ByHost ? "cancelled"
            : jobs.Any(j => j.InfrastructureFailure) ? "error"
            : jobs.Any(j => j.Status == RunStatus.Failed) ? "failed" : "passed";
        records.FinishRun(runId, status, jobs);
        Report(new RunFinished(runId, status, jobs));
        return new RunOutcome(runId, status, jobs);
    }
}
