using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Cli;

/// <summary>Every run is recorded (SQLite in the state directory): <c>runner runs</c>, <c>runner logs</c>, and a killed runner's run.</summary>
public sealed class RunRecordTests : ExecFixture
{
    [Test, CancelAfter(120_000)]
    public async Task Logs_of_a_run_that_failed_before_any_step_say_why(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                image: 127.0.0.1:9/no/such:image
                steps: ["echo never"]
            """);
        var state = NewState("no-step");

        var run = await ExecInAsync(state, repo);
        var logs = await Runner(state, "logs", "last");
        var oneJob = await Runner(state, "logs", "last", "build");
        var artifacts = await Runner(state, "artifacts", "last");

        Assert.That(run.ExitCode, Is.Not.EqualTo(0));
        Assert.That(logs.ExitCode, Is.EqualTo(0), logs.StandardError);
        Assert.That(logs.StandardError, Does.StartWith("==> build: failed: cannot pull 127.0.0.1:9/no/such:image: ").And.Contain("Connection refused"),
            "why the job failed, with the pull's cause, though it printed nothing");
        Assert.That(oneJob.StandardError, Does.StartWith("==> build: failed: "), "the job is known to the record though it ran no step");
        Assert.That((artifacts.ExitCode, artifacts.StandardError.Trim()), Is.EqualTo((0, "runner: run 1 kept no artifacts (none of its jobs declares any, or they expired)")));
    }

    [Test, CancelAfter(180_000)]
    public async Task Runs_are_listed_and_their_logs_printed_again_by_job_and_step_with_secrets_masked(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            secrets: [DEPLOY_TOKEN]
            jobs:
              build:
                steps:
                  - run: echo compiling
                  - run: echo "token is $T"; echo warning >&2
                    env: { T: "${{ secrets.DEPLOY_TOKEN }}" }
              lint:
                steps: ["echo lint failed; exit 4"]
            """);
        var state = NewState("record");

        var exec = await ExecInAsync(state, repo, "--secret", "DEPLOY_TOKEN");
        var runs = await Runner(state, "runs");
        var json = await Runner(state, "runs", "--json");
        var all = await Runner(state, "logs", "last");
        var oneStep = await Runner(state, "logs", "1", "build", "2");
        var noJob = await Runner(state, "logs", "1", "deploy");
        var noRun = await Runner(state, "logs", "7");

        Assert.That(exec.ExitCode, Is.EqualTo(1), exec.StandardError);
        Assert.That(exec.StandardError, Does.Contain("==> run 1 ('runner logs 1' prints it again)"));
        Assert.That(runs.StandardOutput.Split('\n')[1], Does.Match(@"^\s+1  \S+ \S+  failed\s+\S+  1 ok, 1 failed\s+[0-9a-f]{8}  main\s+" + System.Text.RegularExpressions.Regex.Escape(repo)));
        var (header, row) = (runs.StandardOutput.Split('\n')[0], runs.StandardOutput.Split('\n')[1]);
        Assert.That((row.IndexOf("1 ok, 1 failed", StringComparison.Ordinal), row.IndexOf(repo, StringComparison.Ordinal)),
            Is.EqualTo((header.IndexOf("JOBS", StringComparison.Ordinal), header.IndexOf("REPOSITORY", StringComparison.Ordinal))), "each value under its heading:\n" + runs.StandardOutput);
        var listed = JsonDocument.Parse(json.StandardOutput).RootElement[0];
        Assert.That((listed.GetProperty("id").GetInt64(), listed.GetProperty("status").GetString(), listed.GetProperty("jobsFailed").GetInt32()), Is.EqualTo((1L, "failed", 1)));
        Assert.That(all.StandardOutput, Does.Contain("[build:1] compiling\n").And.Contain("[build:2] token is ***\n").And.Contain("[lint:1] lint failed\n"));
        Assert.That(all.StandardOutput + all.StandardError, Does.Not.Contain("tok-3f9a-secret-value"));
        Assert.That(all.StandardError, Does.Contain("[build:2] warning"), "stderr lines go back to stderr");
        Assert.That(oneStep.StandardOutput, Is.EqualTo("[build:2] token is ***\n"));
        Assert.That((noJob.ExitCode, noJob.StandardError), Is.EqualTo((2, "runner: run 1 has no job 'deploy'; its jobs: build, lint\n")));
        Assert.That((noRun.ExitCode, noRun.StandardError), Is.EqualTo((2, "runner: there is no run '7' (see 'runner runs')\n")));
    }

    [Test, CancelAfter(180_000)]
    public async Task Artifacts_are_kept_with_the_run_listed_fetched_and_removed_when_they_expire(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps: ["mkdir -p out && echo app > out/app.txt && echo lib > out/lib.txt"]
                artifacts: { paths: ["out/*.txt"], expire_in: 1h }
              report:
                steps: ["echo report > report.txt"]
                artifacts: { paths: [report.txt], expire_in: 1m }
            """);
        var state = NewState("artifacts");
        var target = Path.Combine(Dir, "fetched-" + Guid.NewGuid().ToString("N")[..6]);

        var exec = await ExecInAsync(state, repo);
        var listed = await Runner(state, "artifacts", "last");
        var fetched = await Runner(state, "artifacts", "1", "build", "-o", target);
        // Rather than wait the minute out: the store keeps each job's expiry beside its files; move the report's into the past.
        await File.WriteAllTextAsync(Path.Combine(state, "artifacts", "1", "report.expires"), DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O"), ct);
        var later = await Runner(state, "artifacts", "1");
        var gone = await Runner(state, "artifacts", "1", "report");

        Assert.That(exec.ExitCode, Is.EqualTo(0), exec.StandardError);
        Assert.That(exec.StandardError, Does.Contain("==> build: kept 2 artifacts ('runner artifacts 1 build' lists them)"), "the run says what it kept");
        Assert.That(listed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("  (")[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)),
            Is.EqualTo(new[] { new[] { "build", "4", "B", "out/app.txt" }, ["build", "4", "B", "out/lib.txt"], ["report", "7", "B", "report.txt"] }));
        Assert.That(fetched.StandardOutput, Is.EqualTo($"2 files of job 'build' written to {target}\n"));
        Assert.That(File.ReadAllText(Path.Combine(target, "out", "app.txt")), Is.EqualTo("app\n"));
        Assert.That(later.StandardOutput, Does.Contain("out/app.txt").And.Not.Contain("report.txt"), "the report expired; the build's are kept an hour");
        Assert.That(gone.ExitCode, Is.EqualTo(2));
        Assert.That(gone.StandardError, Does.Contain("run 1 kept no artifacts of job 'report'; jobs with artifacts: build"));
    }

    [Test, CancelAfter(180_000)]
    public async Task A_run_whose_runner_is_killed_reads_as_interrupted_and_the_next_run_leaves_nothing_behind(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              slow:
                steps:
                  - run: echo started; sleep 120 # marker-7c1e
            """);
        var state = NewState("killed");
        var started = new TaskCompletionSource();
        var runner = RunnerCommand(state, "exec", "-C", repo)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line =>
            {
                if (line.Contains("[slow:1] started", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                }
            }))
            .ExecuteAsync(ct);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);

        await CliWrap.Cli.Wrap("kill").WithArguments(["-KILL", runner.ProcessId.ToString()]).ExecuteAsync(ct);
        await runner;
        var runs = await Runner(state, "runs");
        var next = await ExecInAsync(state, await RepositoryAsync("jobs:\n  quick:\n    steps: [\"echo quick\"]\n"));

        Assert.That(runs.StandardOutput.Split('\n')[1], Does.Contain("interrupted"));
        Assert.That(next.ExitCode, Is.EqualTo(0), next.StandardError);
        Assert.That(await ProcessesWithAsync("marker-7c1e", ct), Is.Empty, "the step's processes are gone");
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(state), "no mount under the state directory is left");
        Assert.That(Directory.GetDirectories(Path.Combine(state, "c")), Is.Empty, "no container directory is left");
        Assert.That(Directory.Exists(Path.Combine(state, "runs")) ? Directory.GetDirectories(Path.Combine(state, "runs")) : [], Is.Empty, "no run directory is left");
        Assert.That(Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, CgroupParent)).Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories), Is.Empty, "no container cgroup is left");
    }

    private static async Task<IReadOnlyList<string>> ProcessesWithAsync(string marker, CancellationToken ct)
    {
        var ps = await CliWrap.Cli.Wrap("ps").WithArguments(["-eo", "pid,args"]).ExecuteBufferedAsync(ct);
        return ps.StandardOutput.Split('\n').Where(l => l.Contains(marker, StringComparison.Ordinal) && !l.Contains(" ps ", StringComparison.Ordinal)).ToList();
    }
}
