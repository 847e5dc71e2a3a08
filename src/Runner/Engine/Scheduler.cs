using Ci.Pipeline.Expressions;
using Ci.Pipeline.Plan;
using ExprRunStatus = Ci.Pipeline.Expressions.RunStatus;

namespace Ci.Runner.Engine;

/// <summary>
/// Runs a plan's jobs as an event-driven graph: a job starts the moment every job it needs has
/// ended, up to <c>maxParallel</c> at once. A failed need skips its dependents unless their
/// condition asks for the status (always(), failure()). Steps run in order with their retry,
/// allow_failure and if: rules. Every job ends with a <see cref="JobFinished"/> event, every step
/// that ran with a <see cref="StepFinished"/>; <paramref name="report"/> must be thread-safe.
/// </summary>
public sealed class Scheduler(IStepBackend backend, int maxParallel, Action<RunEvent> report)
{
    private volatile string? _failedFast;

    /// <summary>After a step's last attempt fails, open the backend's interactive reproduction of it (--shell-on-failure).</summary>
    public bool ShellOnFailure { get; init; }

    /// <summary>The first job that fails stops the run (--fail-fast): running jobs are stopped as by a first Ctrl-C, and no other job starts.</summary>
    public bool FailFast { get; init; }

    /// <summary>Why jobs and steps did not run or were cut short when the run was stopped.</summary>
    private string Stopped => _failedFast is { } job ? $"job '{job}' failed (--fail-fast)" : "the run was stopped";

    /// <summary>Runs the plan; one run at a time per scheduler.</summary>
    public async Task<IReadOnlyList<JobResult>> RunAsync(ExecutionPlan plan, IReadOnlySet<string>? only, CancellationToken cancellationToken)
    {
        _failedFast = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancellationToken = stop.Token;
        var jobs = Select(plan, only);
        var results = new Dictionary<string, JobResult>(StringComparer.Ordinal);
        var running = new Dictionary<string, Task<JobResult>>(StringComparer.Ordinal);
        var pending = new List<PlannedJob>(jobs);
        while (pending.Count > 0 || running.Count > 0)
        {
            foreach (var job in pending.ToList())
            {
                if (running.Count >= maxParallel)
                {
                    break;
                }

                if (!job.Needs.All(n => results.ContainsKey(n) || !jobs.Any(j => j.Id == n)))
                {
                    continue;
                }

                pending.Remove(job);
                var needs = job.Needs.Where(results.ContainsKey).Select(n => results[n]).ToList();
                running[job.Id] = RunJobAsync(job, needs, cancellationToken);
            }

            if (running.Count == 0)
            {
                break;
            }

            var done = await Task.WhenAny(running.Values);
            var result = await done;
            running.Remove(result.Id);
            results[result.Id] = result;
            if (FailFast && result.Status == RunStatus.Failed && _failedFast is null && !stop.IsCancellationRequested)
            {
                _failedFast = result.Id;
                await stop.CancelAsync();
            }
        }

        return jobs.Select(j => results[j.Id]).ToList();
    }

    /// <summary>The plan's jobs, or with <c>-j</c> the named ones and everything they need.</summary>
    private static List<PlannedJob> Select(ExecutionPlan plan, IReadOnlySet<string>? only)
    {
        if (only is null)
        {
            return [.. plan.Jobs];
        }

        var wanted = new HashSet<string>(StringComparer.Ordinal);
        void Add(string id)
        {
            if (wanted.Add(id) && plan.FindJob(id) is { } job)
            {
                foreach (var need in job.Needs)
                {
                    Add(need);
                }
            }
        }

        foreach (var id in plan.Jobs.Where(j => only.Contains(j.Id) || only.Contains(j.Name)).Select(j => j.Id))
        {
            Add(id);
        }

        return plan.Jobs.Where(j => wanted.Contains(j.Id)).ToList();
    }

    private async Task<JobResult> RunJobAsync(PlannedJob job, IReadOnlyList<JobResult> needs, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var result = await RunJobCoreAsync(job, needs, cancellationToken);
        report(new JobFinished(job.Id, job.DisplayName, result));
        return result;
    }

    private async Task<JobResult> RunJobCoreAsync(PlannedJob job, IReadOnlyList<JobResult> needs, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var failedNeed = needs.FirstOrDefault(n => n.Status is RunStatus.Failed or RunStatus.Skipped);
        var status = new ExprRunStatus(needs.Any(n => n.Status == RunStatus.Failed), cancellationToken.IsCancellationRequested);
        if (job.SkipReason is { } skip)
        {
            return Skipped(job, skip);
        }

        if (!ShouldRun(job.Condition, job.Variables, status))
        {
            return Skipped(job, cancellationToken.IsCancellationRequested ? Stopped
                : failedNeed is null ? $"if: {job.Condition.Expression} is false" : $"needs '{failedNeed.Id}', which {(failedNeed.Status == RunStatus.Failed ? "failed" : "was skipped")}");
        }

        report(new JobStarted(job.Id, job.DisplayName));
        IJobHandle handle;
        try
        {
            // A job that starts after the stop does because its if: asked for it (always(), cancelled()): the stop is not for it.
            handle = await backend.StartJobAsync(job, cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Skipped(job, Stopped);
        }
        catch (Exception ex) when (ex is NotSupportedException or Isolation.Containers.IsolationException or InvalidOperationException)
        {
            return new JobResult(job.Id, RunStatus.Failed, [], DateTimeOffset.UtcNow - started, ex.Message)
            {
                InfrastructureFailure = ex is Isolation.Containers.IsolationException,
            };
        }

        var steps = new List<StepResult>();
        var anyFailed = false;
        string? infrastructure = null;
        string? reason = null;
        // A step left out because the run was stopped or the job timed out: the job did not pass, even if every step that ran did.
        string? cutShort = null;
        // The job's timeout is the whole job's: its clock starts with its first step and stops the step running when it ends.
        using var deadline = new CancellationTokenSource(job.Timeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var timedOut = $"stopped: the job's timeout of {Ci.Pipeline.Values.Units.FormatDuration(job.Timeout)} passed";
        try
        {
            foreach (var step in job.Steps)
            {
                var stepStatus = new ExprRunStatus(anyFailed, stop.IsCancellationRequested);
                if (step.SkipReason is { } why || !ShouldRun(step.Condition, job.Variables, stepStatus))
                {
                    var stoppedBy = deadline.IsCancellationRequested ? timedOut : cancellationToken.IsCancellationRequested ? Stopped : null;
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
                    result = await RunStepAsync(handle, job, step, (deadline, timedOut), stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // Stopped while it waited (a retry's delay, say): it failed, and the steps that ask for always() still run.
                    result = new StepResult(step.Index, step.Name, RunStatus.Failed, null, 1,
                        deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? timedOut : Stopped);
                    report(new StepFinished(job.Id, job.DisplayName, result));
                }

                steps.Add(result);
                anyFailed |= result.Status == RunStatus.Failed;
            }
        }
        catch (Isolation.Containers.IsolationException ex)
        {
            // The machine failed, not the step: the job fails with the cause, and the run says so (exit 3).
            infrastructure = ex.Message;
            anyFailed = true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped between steps (a retry's delay, say): the job ends as failed, its remaining steps not run.
            anyFailed = true;
            reason = deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? timedOut : Stopped;
        }
        catch (NotSupportedException ex)
        {
            // A setting this version cannot run (a named user, say): the job fails and says which and why.
            reason = ex.Message;
            anyFailed = true;
        }
        finally
        {
            await backend.FinishJobAsync(handle, !anyFailed);
        }

        if (infrastructure is not null)
        {
            return new JobResult(job.Id, RunStatus.Failed, steps, DateTimeOffset.UtcNow - started, infrastructure) { InfrastructureFailure = true };
        }

        if (reason is null && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            reason = timedOut;
        }

        reason ??= cutShort;

        if (reason is not null)
        {
            return new JobResult(job.Id, RunStatus.Failed, steps, DateTimeOffset.UtcNow - started, reason);
        }

        var jobStatus = !anyFailed ? RunStatus.Passed
            : steps.Last(s => s.Status == RunStatus.Failed).Outcome is { } last && job.AllowFailure.Allows(last.ShellExitCode) ? RunStatus.AllowedFailure
            : RunStatus.Failed;
        return new JobResult(job.Id, jobStatus, steps, DateTimeOffset.UtcNow - started, null);
    }

    /// <param name="timeout">The job's timeout and what to say of a step it stopped.</param>
    private async Task<StepResult> RunStepAsync(IJobHandle handle, PlannedJob job, PlannedStep step, (CancellationTokenSource Deadline, string Said) timeout,
        CancellationToken cancellationToken)
    {
        report(new StepStarted(job.Id, job.DisplayName, step.Index, step.Name, step.LayerCache is not null));
        // A step that starts after the run was stopped runs because its if: asked for that status
        // (always(), cancelled()): it runs to its end, as GitHub's do. Only the forceful stop (a
        // second Ctrl-C, the backend's KillNow) cuts it short.
        var token = cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken;
        StepOutcome outcome;
        var attempt = 0;
        while (true)
        {
            attempt++;
            outcome = await backend.RunStepAsync(handle, step, line => report(new StepOutputEvent(line.Job, line.Step, line.IsError, line.Text)), token);
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
            ? timeout.Deadline.IsCancellationRequested ? timeout.Said : _failedFast is { } failed ? $"stopped: job '{failed}' failed (--fail-fast)" : "stopped"
            : null;
        var result = new StepResult(step.Index, step.Name, status, outcome, attempt, stopped) { MemoryLimit = step.Limits.MemoryBytes };
        report(new StepFinished(job.Id, job.DisplayName, result));
        if (ShellOnFailure && status == RunStatus.Failed && !cancellationToken.IsCancellationRequested)
        {
            report(new JobNotice(job.Id, $"{job.DisplayName}: step {step.Index} failed; a shell in its starting state follows (exit it to go on)"));
            await backend.ReproduceAsync(handle, step, cancellationToken);
        }

        return result;
    }

    private static bool ShouldRun(RunCondition condition, IReadOnlyDictionary<string, string> variables, ExprRunStatus status)
    {
        if (!condition.AtRunTime)
        {
            return true;
        }

        // An expression without a status function means success() && (expression), as the compiler documents.
        if (!ExpressionParser.TryParse(condition.Expression, out var expr, out _, out _))
        {
            return false;
        }

        var value = ExpressionEvaluator.Evaluate(expr!, new ExpressionScope(variables, null, status)).IsTruthy;
        return ExpressionEvaluator.UsesStatus(expr!) ? value : value && !status.AnyFailed && !status.Cancelled;
    }

    private static JobResult Skipped(PlannedJob job, string reason) =>
        new(job.Id, RunStatus.Skipped, job.Steps.Select(s => new StepResult(s.Index, s.Name, RunStatus.Skipped, null, 0, reason)).ToList(), TimeSpan.Zero, reason);
}
