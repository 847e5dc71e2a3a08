using Ci.Pipeline.Compilation;
using Ci.Pipeline.Plan;
using Ci.Runner.Engine;

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

    private static readonly Workspace Sources = new([], "tree-id", "/repo", "0123456789abcdef0123456789abcdef01234567");

    private static async Task<(IReadOnlyList<JobResult> Results, List<string> Events, ScriptedBackend Backend)> RunAsync(string yaml, int parallel = 4,
        IReadOnlySet<string>? only = null, ScriptedBackend? backend = null, RunStop? stop = null, bool failFast = false, Action<RunEvent>? report = null)
    {
        backend ??= new ScriptedBackend();
        using var own = stop is null ? new RunStop() : null;
        var results = await new Scheduler(backend, parallel, new Ci.Pipeline.Secrets.SecretMasker(), report ?? (_ => { })) { FailFast = failFast }
            .RunAsync(Plan(yaml), only, Sources, stop ?? own!);
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
        var (results, _, _) = await RunAsync("""
            jobs:
              broken: { steps: ["exit 1"] }
              cleanup:
                needs: [broken]
                if: always()
                steps:
                  - exit 0
                  - run: exit 0
                    if: always()
            """, failFast: true);
        var cleanup = results.Single(r => r.Id == "cleanup");

        Assert.That(cleanup.Steps.Select(s => s.Status), Is.EqualTo(new[] { RunStatus.Skipped, RunStatus.Passed }));
        Assert.That(cleanup.Status, Is.EqualTo(RunStatus.Failed), "a job cut short by the stop did not pass");
        Assert.That(cleanup.Reason, Is.EqualTo("job 'broken' failed (--fail-fast)"));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_job_the_backend_cannot_start_fails_as_an_infrastructure_failure_and_its_dependents_are_skipped()
    {
        var backend = new ScriptedBackend { FailToStart = ["build"] };

        var (results, events, _) = await RunAsync("""
            jobs:
              build: { steps: ["exit 0"] }
              test: { needs: [build], steps: ["exit 0"] }
            """, backend: backend);
        var byId = results.ToDictionary(r => r.Id);

        Assert.That((byId["build"].Status, byId["build"].InfrastructureFailure, byId["build"].Reason), Is.EqualTo((RunStatus.Failed, true, "cannot start build: no such image")));
        Assert.That(byId["test"].Reason, Is.EqualTo("needs 'build', which failed"));
        Assert.That(events, Has.None.StartsWith("finish build"), "a job that did not start is not finished");
    }

    [Test, CancelAfter(30_000)]
    public async Task A_backend_that_throws_unexpectedly_fails_its_job_as_infrastructure_stops_the_run_and_is_awaited_with_its_siblings()
    {
        // buggy throws once sibling is running; sibling would wait for ever unless stopped.
        var backend = new ScriptedBackend();
        var (results, events, _) = await RunAsync("""
            jobs:
              buggy: { steps: ["wait sibling-running; throw"] }
              sibling: { steps: ["print running; wait never"] }
              later: { needs: [buggy], if: always(), steps: [{ run: "exit 0", if: always() }] }
            """, backend: backend, report: e =>
        {
            if (e is StepOutputEvent { Line: "running" })
            {
                backend.Release("sibling-running");
            }
        });
        var byId = results.ToDictionary(r => r.Id);

        Assert.That((byId["buggy"].InfrastructureFailure, byId["buggy"].Reason),
            Is.EqualTo((true, "the backend failed unexpectedly: InvalidOperationException: a bug in step 1")));
        Assert.That(events, Does.Contain("finish buggy"), "finish is called even when a step throws");
        Assert.That((byId["sibling"].Status, byId["sibling"].Steps[0].Reason), Is.EqualTo((RunStatus.Failed, "stopped: job 'buggy' failed unexpectedly")),
            "the running sibling was stopped, and waited for: the scheduler returned after it");
        Assert.That(events, Does.Contain("finish sibling"));
        Assert.That(byId["later"].Status, Is.EqualTo(RunStatus.Passed), "a job that asks for always() still runs after the stop");
    }

    [TestCase("unsupported", false, "step 1: not supported here")]
    [TestCase("infra", true, "step 1: the machine failed")]
    public async Task A_step_the_backend_cannot_run_fails_its_job_with_the_reason_and_says_whether_the_machine_failed(string word, bool infrastructure, string reason)
    {
        var (results, events, _) = await RunAsync($"jobs:\n  j: {{ steps: [\"{word}\", \"exit 0\"] }}\n");

        Assert.That((results[0].Status, results[0].InfrastructureFailure, results[0].Reason), Is.EqualTo((RunStatus.Failed, infrastructure, reason)));
        Assert.That(events, Does.Contain("finish j").And.None.StartsWith("run j/2"));
    }

    [Test, CancelAfter(30_000)]
    public async Task Oom_kills_and_timeouts_are_failed_steps_with_their_cause_kept()
    {
        var (results, _, _) = await RunAsync("""
            jobs:
              hungry: { steps: ["oom"] }
              slow: { steps: ["timeout"] }
            """);
        var byId = results.ToDictionary(r => r.Id);

        Assert.That((byId["hungry"].Status, byId["hungry"].Steps[0].Outcome!.OomKilled, byId["hungry"].Steps[0].Outcome!.ShellExitCode), Is.EqualTo((RunStatus.Failed, true, 137)));
        Assert.That((byId["slow"].Status, byId["slow"].Steps[0].Outcome!.TimedOut), Is.EqualTo((RunStatus.Failed, true)));
    }

    [Test, CancelAfter(30_000)]
    public async Task Artifacts_a_job_kept_go_through_the_seam_to_the_jobs_that_need_it()
    {
        var (_, events, _) = await RunAsync("""
            jobs:
              build:
                steps: ["exit 0"]
                artifacts: { paths: [out] }
              test: { needs: [build], steps: ["exit 0"] }
              lint: { steps: ["exit 0"] }
            """);

        Assert.That(events, Does.Contain("start test with kept-by-build").And.Contain("start lint"));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_stop_while_a_step_runs_fails_it_runs_always_steps_finishes_the_job_and_starts_nothing_new()
    {
        using var stop = new RunStop();
        var backend = new ScriptedBackend();
        var run = RunAsync("""
            jobs:
              build:
                steps:
                  - print started; wait never
                  - exit 0
                  - run: print cleaning up
                    if: always()
              after: { needs: [build], steps: ["exit 0"] }
            """, backend: backend, stop: stop, report: e =>
        {
            if (e is StepOutputEvent { Line: "started" })
            {
                stop.Stop();
            }
        });

        var (results, events, _) = await run;
        var build = results.Single(r => r.Id == "build");

        Assert.That(build.Steps.Select(s => s.Status), Is.EqualTo(new[] { RunStatus.Failed, RunStatus.Skipped, RunStatus.Passed }));
        Assert.That((build.Steps[0].Reason, build.Steps[1].Reason), Is.EqualTo(("stopped", "the run was stopped")));
        Assert.That(events, Does.Contain("finish build"));
        Assert.That(results.Single(r => r.Id == "after").Reason, Is.EqualTo("the run was stopped"));
        Assert.That(events, Has.None.StartsWith("start after"));
        Assert.That(stop.ByHost, Is.True);
    }

    [Test, CancelAfter(30_000)]
    public async Task A_stop_during_a_retrys_delay_ends_the_wait_at_once()
    {
        using var stop = new RunStop();

        var (results, events, _) = await RunAsync("""
            jobs:
              flaky:
                steps:
                  - run: exit 1
                    retry: { max: 3, delay: 1h, exit_codes: [1] }
            """, stop: stop, report: e =>
        {
            if (e is StepRetrying)
            {
                stop.Stop();
            }
        });

        Assert.That((results[0].Status, results[0].Steps[0].Reason), Is.EqualTo((RunStatus.Failed, "stopped")), "not an hour later: the test would time out");
        Assert.That(events.Count(e => e.StartsWith("run flaky/1", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(events, Does.Contain("finish flaky"));
    }

    [Test, CancelAfter(30_000)]
    public async Task What_a_step_prints_is_masked_and_neutralised_by_the_engine_whatever_the_backend()
    {
        var lines = new List<string>();
        var masker = new Ci.Pipeline.Secrets.SecretMasker();
        masker.Add("hunter2-secret");
        using var stop = new RunStop();
        await new Scheduler(new ScriptedBackend(), 1, masker, e =>
        {
            if (e is StepOutputEvent output)
            {
                lines.Add(output.Line);
            }
        }).RunAsync(Plan("jobs:\n  j: { steps: [\"print token hunter2-secret \\u001b[2Jcleared\"] }\n"), null, Sources, stop);

        Assert.That(lines.Single(), Does.Contain("token ***").And.Not.Contain("hunter2").And.Not.Contain("\u001b[2J").And.Contain("cleared"));
    }
}

