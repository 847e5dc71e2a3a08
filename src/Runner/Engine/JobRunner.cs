using Ci.Pipeline.Plan;
using Ci.Pipeline.Secrets;
using Ci.Pipeline.Values;
using ExprRunStatus = Ci.Pipeline.Expressions.RunStatus;

namespace Ci.Runner.Engine;

/// <summary>
/// Runs one job on a backend: its condition, its steps in order with their conditions, retries
/// and allow_failure, the job's timeout over all of them, and the finish, always. What a step
/// prints is neutralised and masked here, once, whatever the backend. Reports every step that
/// ran with a <see cref="StepFinished"/>; <paramref name="report"/> must be thread-safe.
/// </summary>
internal sealed class JobRunner(IStepBackend backend, SecretMasker masker, Action<RunEvent> report, RunStop stop, long? runId)
{
    /// <summary>After a step's last attempt fails, open the backend's interactive reproduction of it (when it has one).</summary>
    public bool ShellOnFailure { get; init; }

    public async Task<(JobResult Result, ArtifactSet? Artifacts)> RunAsync(JobStart start, IReadOnlyList<JobResult> needs, CancellationToken cancellationToken)
    {
        var job = start.Job;
        var started = DateTimeOffset.UtcNow;
        var failedNeed = needs.FirstOrDefault(n => n.Status is RunStatus.Failed or RunStatus.Skipped);
        if (job.SkipReason is { } skip)
        {
            return (Skipped(job, skip), null);
        }

        if (!job.Condition.Holds(job.Variables, new ExprRunStatus(needs.Any(n => n.Status == RunStatus.Failed), cancellationToken.IsCancellationRequested)))
        {
            return (Skipped(job, cancellationToken.IsCancellationRequested ? stop.Reason
                : failedNeed is null ? $"if: {job.Condition.Expression} is false" : $"needs '{failedNeed.Id}', which {(failedNeed.Status == RunStatus.Failed ? "failed" : "was skipped")}"), null);
        }

        report(new JobStarted(job.Id, job.DisplayName));
        // What the job's services report is neutralised and masked as step output is; a service that ends during the job is remembered for the summary.
        var exited = new System.Collections.Concurrent.ConcurrentQueue<string>();
        start = start with
        {
            Services = r =>
            {
                if (r is ServiceOutput line)
                {
                    report(new ServiceOutputEvent(job.Id, line.Service, line.IsError, masker.Apply(TerminalText.Neutralise(line.Text))));
                }
                else if (r is ServiceStatus status)
                {
                    var detail = masker.Apply(TerminalText.Neutralise(status.Detail));
                    if (status.State == ServiceState.Exited)
                    {
                        exited.Enqueue($"service {status.Service} {masker.Apply(TerminalText.Neutralise(status.Summary ?? status.Detail))}");
                    }

                    report(new ServiceStatusEvent(job.Id, status.Service, status.State, detail));
                }
            },
        };
        IJobHandle handle;
        try
        {
            // A job that starts after the stop does because its if: asked for it (always(), cancelled()): the stop is not for it.
            handle = await backend.StartJobAsync(start, cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (Skipped(job, stop.Reason), null);
        }
        catch (BackendException ex)
        {
            return (new JobResult(job.Id, RunStatus.Failed, [], DateTimeOffset.UtcNow - started, ex.Message) { InfrastructureFailure = ex.Infrastructure }, null);
        }

        var steps = new List<StepResult>();
        var anyFailed = false;
        BackendException? failure = null;
        string? reason = null;
        // A step left out because the run was stopped or the job timed out: the job did not pass, even if every step that ran did.
        string? cutShort = null;
        // The job's timeout is the whole job's: its clock starts with its first step and stops the step running when it ends.
        using var deadline = new CancellationTokenSource(job.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var timedOut = $"stopped: the job's timeout of {Units.FormatDuration(job.Timeout)} passed";
        string Stopped() => deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? timedOut : stop.Reason;
        ArtifactSet? artifacts = null;
        try
        {
            foreach (var step in job.Steps)
            {
                if (step.SkipReason is not null || !step.Condition.Holds(job.Variables, new ExprRunStatus(anyFailed, linked.IsCancellationRequested)))
                {
                    var stoppedBy = linked.IsCancellationRequested ? Stopped() : null;
                    if (step.SkipReason is null && !anyFailed)
                    {
                        cutShort ??= stoppedBy;
                    }

                    steps.Add(new StepResult(step.Index, step.Name, RunStatus.Skipped, null, 0, step.SkipReason
                        ?? stoppedBy ?? (anyFailed ? "an earlier step failed" : $"if: {step.Condition.Expression} is false")));
                    continue;
                }

                StepResult result;
                try
                {
                    result = await RunStepAsync(handle, job, step, deadline, timedOut, linked.Token);
                }
                catch (OperationCanceledException) when (linked.IsCancellationRequested)
                {
                    // Stopped while the backend or a retry's delay waited: it failed, said as a step the stop cut short, and the
                    // steps that ask for always() still run.
                    result = new StepResult(step.Index, step.Name, RunStatus.Failed, null, 1,
                        deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? timedOut : stop.StepReason);
                    report(new StepFinished(job.Id, job.DisplayName, result));
                }

                steps.Add(result);
                anyFailed |= result.Status == RunStatus.Failed;
            }
        }
        catch (BackendException ex)
        {
            // The backend could not run a step (a setting it does not support, or the machine failed): the job fails with the cause.
            failure = ex;
            anyFailed = true;
        }
        finally
        {
            // Clean-up, also after a polite stop: only a forceful one cuts it short.
            artifacts = await backend.FinishJobAsync(handle, !anyFailed, stop.KillNow);
        }

        ReportArtifacts(job, artifacts);
        if (failure is not null)
        {
            return (new JobResult(job.Id, RunStatus.Failed, steps, DateTimeOffset.UtcNow - started, failure.Message) { InfrastructureFailure = failure.Infrastructure }, artifacts);
        }

        if (reason is null && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            reason = timedOut;
        }

        reason ??= cutShort;
        if (reason is null && anyFailed && !exited.IsEmpty && steps.LastOrDefault(s => s.Status == RunStatus.Failed) is { } failed
            && !job.AllowFailure.Allows(failed.Outcome?.ShellExitCode ?? 1))
        {
            reason = string.Join("; ", exited); // the failure may be the service's: the summary says it ended
        }

        if (reason is not null)
        {
            return (new JobResult(job.Id, RunStatus.Failed, steps, DateTimeOffset.UtcNow - started, reason), artifacts);
        }

        var jobStatus = !anyFailed ? RunStatus.Passed
            : steps.Last(s => s.Status == RunStatus.Failed).Outcome is { } last && job.AllowFailure.Allows(last.ShellExitCode) ? RunStatus.AllowedFailure
            : RunStatus.Failed;
        return (new JobResult(job.Id, jobStatus, steps, DateTimeOffset.UtcNow - started, null), artifacts);
    }

    private void ReportArtifacts(PlannedJob job, ArtifactSet? artifacts)
    {
        if (artifacts is null || job.Artifacts is not { } declared)
        {
            return;
        }

        report(new JobNotice(job.Id, artifacts.Files == 0
            ? $"{job.DisplayName}: no file matched its artifacts ({string.Join(", ", declared.Paths)})"
            : $"{job.DisplayName}: kept {artifacts.Files} artifact{(artifacts.Files == 1 ? "" : "s")} ('runner artifacts {runId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "last"} {job.Id}' lists them)"));
    }

    private async Task<StepResult> RunStepAsync(IJobHandle handle, PlannedJob job, PlannedStep step, CancellationTokenSource deadline, string timedOut,
        CancellationToken cancellationToken)
    {
        report(new StepStarted(job.Id, job.DisplayName, step.Index, step.Name, step.LayerCache is not null));
        // A step that starts after the run was stopped runs because its if: asked for that status
        // (always(), cancelled()): it runs to its end, as GitHub's do. Only the forceful stop cuts it short.
        var token = cancellationToken.IsCancellationRequested ? stop.KillNow : cancellationToken;
        void Output(StepOutput line) =>
            report(new StepOutputEvent(job.Id, step.Index, line.IsError, masker.Apply(TerminalText.Neutralise(line.Text))));
        StepOutcome outcome;
        var attempt = 0;
        while (true)
        {
            attempt++;
            outcome = await backend.RunStepAsync(handle, step, attempt, Output, token);
            if (outcome.Succeeded || !step.Retry.Retries(outcome.ShellExitCode) || attempt > step.Retry.Max || token.IsCancellationRequested)
            {
                break;
            }

            report(new StepRetrying(job.Id, job.DisplayName, step.Index, outcome.ShellExitCode, attempt, step.Retry.Max));
            await Task.Delay(step.Retry.Delay, token);
        }

        var status = outcome.CachedFrom is not null ? RunStatus.Cached
            : outcome.Succeeded ? RunStatus.Passed
            : step.AllowFailure.Allows(outcome.ShellExitCode) ? RunStatus.AllowedFailure
            : RunStatus.Failed;
        var stopped = status == RunStatus.Failed && token.IsCancellationRequested
            ? deadline.IsCancellationRequested ? timedOut : stop.StepReason
            : null;
        var result = new StepResult(step.Index, step.Name, status, outcome, attempt, stopped) { MemoryLimit = step.Limits.MemoryBytes };
        report(new StepFinished(job.Id, job.DisplayName, result));
        if (ShellOnFailure && status == RunStatus.Failed && !cancellationToken.IsCancellationRequested && backend is IInteractiveBackend interactive)
        {
            report(new JobNotice(job.Id, $"{job.DisplayName}: step {step.Index} failed; a shell in its starting state follows (exit it to go on)"));
            await interactive.ReproduceAsync(handle, step, cancellationToken);
        }

        return result;
    }

    private static JobResult Skipped(PlannedJob job, string reason) =>
        new(job.Id, RunStatus.Skipped, job.Steps.Select(s => new StepResult(s.Index, s.Name, RunStatus.Skipped, null, 0, reason)).ToList(), TimeSpan.Zero, reason);
}
