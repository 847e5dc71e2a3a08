using Ci.Pipeline.Plan;
using Ci.Pipeline.Secrets;

namespace Ci.Runner.Engine;

/// <summary>
/// Runs a plan's jobs as an event-driven graph: a job starts the moment every job it needs has
/// ended, up to <c>maxParallel</c> at once, each through a <see cref="JobRunner"/>. A failed need
/// skips its dependents unless their condition asks for the status (always(), failure()); the
/// artifacts a job kept go to the jobs that need it. Every job ends with a
/// <see cref="JobFinished"/> event; <paramref name="report"/> must be thread-safe. A backend that
/// fails unexpectedly fails its job as an infrastructure failure and stops the run, and the
/// scheduler still waits for every job that is running: it never returns with work in flight.
/// </summary>
public sealed class Scheduler(IStepBackend backend, int maxParallel, SecretMasker masker, Action<RunEvent> report)
{
    /// <summary>After a step's last attempt fails, open the backend's interactive reproduction of it (--shell-on-failure).</summary>
    public bool ShellOnFailure { get; init; }

    /// <summary>The first job that fails stops the run (--fail-fast): running jobs are stopped as by a polite stop, and no other job starts.</summary>
    public bool FailFast { get; init; }

    /// <summary>The run being recorded, for what the output tells the user to type.</summary>
    public long? RunId { get; init; }

    /// <summary>Runs the plan (with <paramref name="only"/>, the named jobs and what they need) on <paramref name="workspace"/>; one run at a time per scheduler.</summary>
    public async Task<IReadOnlyList<JobResult>> RunAsync(ExecutionPlan plan, IReadOnlySet<string>? only, Workspace workspace, RunStop stop)
    {
        var runner = new JobRunner(backend, masker, report, stop, RunId) { ShellOnFailure = ShellOnFailure };
        var jobs = Select(plan, only);
        var results = new Dictionary<string, JobResult>(StringComparer.Ordinal);
        var artifacts = new Dictionary<string, ArtifactSet>(StringComparer.Ordinal);
        var running = new Dictionary<string, Task<(JobResult Result, ArtifactSet? Artifacts)>>(StringComparer.Ordinal);
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
                var start = new JobStart(job, workspace, job.Needs.Where(artifacts.ContainsKey).Select(n => artifacts[n]).ToList());
                running[job.Id] = RunJobAsync(runner, start, needs, stop);
            }

            if (running.Count == 0)
            {
                break;
            }

            var (result, kept) = await await Task.WhenAny(running.Values);
            running.Remove(result.Id);
            results[result.Id] = result;
            if (kept is not null)
            {
                artifacts[result.Id] = kept;
            }

            if (FailFast && result.Status == RunStatus.Failed)
            {
                stop.StopBecause($"job '{result.Id}' failed (--fail-fast)");
            }
        }

        return jobs.Select(j => results[j.Id]).ToList();
    }

    /// <summary>The plan's jobs, or with <c>-j</c> the named ones and everything they need.</summary>
    internal static List<PlannedJob> Select(ExecutionPlan plan, IReadOnlySet<string>? only)
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

    private async Task<(JobResult Result, ArtifactSet? Artifacts)> RunJobAsync(JobRunner runner, JobStart start, IReadOnlyList<JobResult> needs, RunStop stop)
    {
        await Task.Yield();
        var job = start.Job;
        (JobResult Result, ArtifactSet? Artifacts) ended;
        try
        {
            ended = await runner.RunAsync(start, needs, stop.Graceful);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stop.Graceful.IsCancellationRequested)
        {
            // Not a step's failure nor a failure the backend knows: a bug, of the backend or ours. The job fails as an
            // infrastructure failure, and the run stops rather than go on with a backend in an unknown state.
            stop.StopBecause($"job '{job.Id}' failed unexpectedly");
            ended = (new JobResult(job.Id, RunStatus.Failed, [], TimeSpan.Zero, $"the backend failed unexpectedly: {ex.GetType().Name}: {ex.Message}")
            {
                InfrastructureFailure = true,
            }, null);
        }
        catch (OperationCanceledException)
        {
            ended = (new JobResult(job.Id, RunStatus.Failed, [], TimeSpan.Zero, stop.Reason), null);
        }

        report(new JobFinished(job.Id, job.DisplayName, ended.Result));
        return ended;
    }
}
