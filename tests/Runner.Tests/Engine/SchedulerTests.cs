using Ci.Pipeline.Compilation;
using Ci.Pipeline.Plan;
using Ci.Runner.Backends.Containers;
using Ci.Runner.Engine;
using Ci.Runner.Records;
using Ci.Runner.Sources;

namespace Ci.Runner.Tests.Engine;

/// <summary>The scheduler against the scripted backend: graph order, concurrency, failure rules. No containers.</summary>
public sealed class SchedulerTests
{
    private static ExecutionPlan Plan(string yaml)
    {
        var dir = Directory.CreateTempSubdirectory("sched-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, ".runner.yml"), yaml);
            var result = PipelineCompiler.Compile(new Ci.Runner.Sources.RootedSourceTree(dir), ".runner.yml", new TriggerContext { Branch = "main" });
            Assert.That(result.Errors, Is.Empty);
            return result.Plan!;
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static async Task<(IReadOnlyList<JobResult> Results, List<string> Events, ScriptedBackend Backend)> RunAsync(string yaml, int parallel = 4, IReadOnlySet<string>? only = null)
    {
        var backend = new ScriptedBackend();
        var results = await new Scheduler(backend, parallel, _ => { }).RunAsync(Plan(yaml), only, CancellationToken.None);
        return (results, backend.Events.ToList(), backend);
    }

    [Test, CancelAfter(30_000)]
    public async Task A_job_starts_when_its_own_needs_end_not_when_a_whole_wave_does()
    {
        // slow and quick start together; after-quick must not wait for slow.
        var (_, events, _) = await RunAsync("""
            jobs:
              slow: { steps: ["sleep 600"] }
              quick: { steps: ["sleep 10"] }
              after-quick: { needs: [quick], steps: ["sleep 10"] }
              after-both: { needs: [slow, quick], steps: ["sleep 1"] }
            """);

        Assert.That(events.IndexOf("finish after-quick"), Is.LessThan(events.IndexOf("finish slow")));
        Assert.That(events.IndexOf("start after-both"), Is.GreaterThan(events.IndexOf("finish slow")));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_jobs_timeout_is_the_whole_jobs_and_stops_it_mid_step_but_always_steps_still_run()
    {
        // The first step ends well within the job's timeout; the second cannot.
        var (results, events, _) = await RunAsync("""
            jobs:
              slow:
                timeout: 1s
                steps:
                  - sleep 200
                  - sleep 5000
                  - sleep 200
                  - run: sleep 1
                    if: always()
            """);

        var job = results.Single();
        Assert.That(job.Status, Is.EqualTo(RunStatus.Failed));
        Assert.That(job.Reason, Is.EqualTo("stopped: the job's timeout of 1s passed"));
        Assert.That(events, Does.Contain("step slow/1 exit 0"));
        Assert.That(events, Has.None.StartsWith("step slow/2").And.None.StartsWith("step slow/3"), "the second step was stopped, the third never ran");
        Assert.That(events, Does.Contain("step slow/4 exit 0"), "an always() step runs after the timeout");
    }

    [Test, CancelAfter(30_000)]
    public async Task No_more_than_the_allowed_number_of_jobs_run_at_once()
    {
        var yaml = "jobs:\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"  j{i}: {{ steps: [\"sleep 30\"] }}\n"));

        var (results, _, backend) = await RunAsync(yaml, parallel: 3);

        Assert.That(backend.MaxConcurrentJobs, Is.EqualTo(3));
        Assert.That(results.Select(r => r.Status), Is.All.EqualTo(RunStatus.Passed));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_failed_step_stops_its_job_and_skips_dependents_unless_they_ask_for_failure()
    {
        var (results, events, _) = await RunAsync("""
            jobs:
              build: { steps: ["exit 2", "exit 0"] }
              test: { needs: [build], steps: ["exit 0"] }
              report: { needs: [build], if: failure(), steps: ["exit 0"] }
            """);
        var byId = results.ToDictionary(r => r.Id);

        Assert.That(byId["build"].Status, Is.EqualTo(RunStatus.Failed));
        Assert.That(byId["build"].Steps[1].Status, Is.EqualTo(RunStatus.Skipped));
        Assert.That(byId["test"].Reason, Is.EqualTo("needs 'build', which failed"));
        Assert.That(byId["report"].Status, Is.EqualTo(RunStatus.Passed));
        Assert.That(events, Does.Not.Contain("step build/2 exit 0"));
    }

    [Test, CancelAfter(30_000)]
    public async Task Retries_follow_the_exit_codes_and_allow_failure_keeps_the_job_green()
    {
        var (results, events, _) = await RunAsync("""
            jobs:
              oom-prone:
                steps:
                  - run: exit 137
                    retry: { max: 2, exit_codes: [137] }
              not-retried:
                steps:
                  - run: exit 1
                    retry: { max: 2, exit_codes: [137] }
              lenient:
                steps:
                  - run: exit 1
                    allow_failure: [1]
                  - run: exit 0
            """);
        var byId = results.ToDictionary(r => r.Id);

        Assert.That(events.Count(e => e == "step oom-prone/1 exit 137"), Is.EqualTo(3), "one run and two retries");
        Assert.That(byId["oom-prone"].Steps[0].Attempts, Is.EqualTo(3));
        Assert.That(byId["not-retried"].Steps[0].Attempts, Is.EqualTo(1), "exit 1 is not in exit_codes");
        Assert.That(byId["lenient"].Steps.Select(s => s.Status), Is.EqualTo(new[] { RunStatus.AllowedFailure, RunStatus.Passed }));
        Assert.That(byId["lenient"].Status, Is.EqualTo(RunStatus.Passed));
    }

    [Test, CancelAfter(30_000)]
    public async Task Selecting_a_job_runs_it_and_what_it_needs_only()
    {
        var (results, _, _) = await RunAsync("""
            jobs:
              a: { steps: ["exit 0"] }
              b: { needs: [a], steps: ["exit 0"] }
              c: { steps: ["exit 0"] }
            """, only: new HashSet<string> { "b" });

        Assert.That(results.Select(r => r.Id), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_job_whose_steps_the_stop_left_out_does_not_pass_even_if_its_always_steps_did()
    {
        // broken fails and --fail-fast stops the run; cleanup still starts (its if: asks for always()),
        // its first step is left out by the stop and only its always() step runs.
        var backend = new ScriptedBackend();
        var results = await new Scheduler(backend, 4, _ => { }) { FailFast = true }.RunAsync(Plan("""
            jobs:
              broken: { steps: ["exit 1"] }
              cleanup:
                needs: [broken]
                if: always()
                steps:
                  - exit 0
                  - run: exit 0
                    if: always()
            """), null, CancellationToken.None);
        var cleanup = results.Single(r => r.Id == "cleanup");

        Assert.That(cleanup.Steps.Select(s => s.Status), Is.EqualTo(new[] { RunStatus.Skipped, RunStatus.Passed }));
        Assert.That(cleanup.Status, Is.EqualTo(RunStatus.Failed), "a job cut short by the stop did not pass");
        Assert.That(cleanup.Reason, Is.EqualTo("job 'broken' failed (--fail-fast)"));
    }
}
