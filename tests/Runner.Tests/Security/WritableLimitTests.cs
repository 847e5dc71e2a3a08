using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Security;

/// <summary>Issue 10, item 15: a step cannot fill the disk through its writable layer; past the limit it is stopped and the summary says why. Real runs, as root.</summary>
[Category("Security")]
public sealed class WritableLimitTests : ExecFixture
{
    [Test, CancelAfter(120_000)]
    public async Task A_step_that_writes_past_the_limit_is_stopped_and_said_so_and_the_next_step_never_runs(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              fill:
                steps:
                  - run: head -c 64m /dev/urandom > /big; sleep 20; echo not-stopped
                  - run: echo second-step
            """);

        var run = await WithFixture(Cli.RunnerCli.Command(["exec", "-C", repo]), NewState("writable"), ("RUNNER_WRITABLE_LIMIT", "8Mi"))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardOutput, Does.Contain("killed: wrote more than 8 MiB into its file system (RUNNER_WRITABLE_LIMIT)"));
        Assert.That(run.StandardOutput, Does.Not.Contain("[fill:1] not-stopped").And.Not.Contain("[fill:2]"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_limit_that_is_not_a_size_is_refused_with_the_variable()
    {
        var repo = await RepositoryAsync("jobs:\n  j:\n    steps: [\"true\"]\n");

        var run = await WithFixture(Cli.RunnerCli.Command(["exec", "-C", repo]), NewState("writable-bad"), ("RUNNER_WRITABLE_LIMIT", "lots"))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StandardError, Does.StartWith("runner: RUNNER_WRITABLE_LIMIT: ").And.Contain("(a size such as 20Gi, or 'off')"));
    }
}
