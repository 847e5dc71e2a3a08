using System.Text;
using CliWrap;

namespace Ci.Runner.Tests.Cli;

/// <summary>Ctrl-C: the first stops gracefully (SIGTERM to steps, cleanup, summary), the second kills.</summary>
public sealed class InterruptTests : ExecFixture
{
    [Test, CancelAfter(120_000)]
    public async Task The_first_ctrl_c_stops_steps_with_sigterm_and_still_cleans_up_and_records(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              j:
                steps:
                  - run: echo started; sleep 60
                  - run: echo never
              later:
                needs: [j]
                steps: ["echo never either"]
            """);
        var state = NewState("ctrlc");

        var (exitCode, output) = await RunAndInterruptAsync(state, repo, interrupts: 1, ct);

        Assert.That(exitCode, Is.EqualTo(130), output);
        Assert.That(output, Does.Match(@"1\. echo started; sleep 60\s+FAILED\s+\S+\s+143"), "the step ended on the SIGTERM it was sent");
        Assert.That(output, Does.Match(@"later\s+skipped.*the run was stopped"));
        Assert.That(output, Does.Not.Contain("[j:2]").And.Not.Contain("[later:1]"), "nothing runs after the stop");
        var runs = await Runner(state, "runs");
        Assert.That(runs.StandardOutput.Split('\n')[1], Does.Contain("cancelled"));
        Assert.That(Directory.GetDirectories(Path.Combine(state, "c")), Is.Empty, "no container directory is left");
        Assert.That(Directory.GetDirectories(Path.Combine(state, "runs")), Is.Empty, "no run directory is left");
    }

    [Test, CancelAfter(120_000)]
    public async Task The_second_ctrl_c_kills_a_step_that_ignores_sigterm(CancellationToken ct)
    {
        // The shell and its sleep ignore SIGTERM (an ignored signal stays ignored across exec), so only SIGKILL ends them.
        var repo = await RepositoryAsync("""
            jobs:
              j:
                steps:
                  - run: trap "" TERM; echo started; sleep 60
            """);

        var (exitCode, output) = await RunAndInterruptAsync(NewState("ctrlc2"), repo, interrupts: 2, ct);

        Assert.That(exitCode, Is.EqualTo(130), output);
        Assert.That(output, Does.Contain("runner: killing what runs"));
        Assert.That(output, Does.Match(@"1\. trap .*FAILED\s+\S+\s+137"), "killed, not stopped by the polite SIGTERM");
    }

    /// <summary>Starts <c>runner exec</c>, waits for the first step's "started", sends SIGINT that many times (a second apart), and waits for the runner.</summary>
    private async Task<(int ExitCode, string Output)> RunAndInterruptAsync(string state, string repo, int interrupts, CancellationToken ct)
    {
        var output = new StringBuilder();
        var started = new TaskCompletionSource();
        void Line(string line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }

            if (line.EndsWith(":1] started", StringComparison.Ordinal))
            {
                started.TrySetResult();
            }
        }

        var runner = RunnerCommand(state, "exec", "-C", repo)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(Line))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(Line))
            .ExecuteAsync(ct);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);

        for (var i = 0; i < interrupts; i++)
        {
            if (i > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }

            await CliWrap.Cli.Wrap("kill").WithArguments(["-INT", runner.ProcessId.ToString()]).ExecuteAsync(ct);
        }

        var result = await runner;
        lock (output)
        {
            return (result.ExitCode, output.ToString());
        }
    }
}
