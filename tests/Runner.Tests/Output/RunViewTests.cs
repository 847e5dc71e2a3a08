using Ci.Pipeline.Secrets;
using Ci.Runner.Engine;
using Ci.Runner.Output;

namespace Ci.Runner.Tests.Output;

public sealed class RunViewTests
{
    [Test]
    public void On_a_terminal_the_running_steps_stay_below_the_output_and_leave_when_they_end()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var started = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
        using var view = new RunView(stdout, stderr, json: false, colour: false, new SecretMasker(), live: true, new At(started.AddSeconds(3)));

        view.Report(new StepStarted("build", "build", 1, "make", false) { Time = started });
        view.Report(new StepStarted("test", "test", 2, "make check", false) { Time = started.AddSeconds(1) });
        var beforeOutput = stderr.ToString();
        view.Report(new StepOutputEvent("build", 1, false, "cc -c main.c"));
        view.Report(new StepFinished("build", "build", new StepResult(1, "make", RunStatus.Passed, null, 1, null)));
        var afterFinish = stderr.ToString()[beforeOutput.Length..];

        Assert.That(beforeOutput, Does.EndWith("\u001b[1A\u001b[J==> test: step 2 make check\n\u001b[2Krunning build step 1 make 3s\n\u001b[2Krunning test step 2 make check 2s\n"),
            "the block is cleared, the event printed, and the block redrawn below it with both running steps");
        Assert.That(stdout.ToString(), Is.EqualTo("[build:1] cc -c main.c\n"));
        Assert.That(afterFinish, Does.StartWith("\u001b[2A\u001b[J"), "cleared before the next line is printed");
        Assert.That(afterFinish, Does.EndWith("==> build: step 1 passed\n\u001b[2Krunning test step 2 make check 2s\n"), "only the step still running is left");
    }

    [Test]
    public void Json_events_are_masked_as_the_terminal_is()
    {
        var stdout = new StringWriter();
        var masker = new SecretMasker();
        masker.Add("tok-3f9a-secret-value");
        using var view = new RunView(stdout, new StringWriter(), json: true, colour: false, masker, live: false);

        view.Report(new JobNotice("build", "build: deploying with tok-3f9a-secret-value"));

        Assert.That(stdout.ToString(), Does.Not.Contain("tok-3f9a-secret-value").And.Contain("***"));
    }

    [Test]
    public void In_a_log_there_is_no_live_block_and_no_escape_code()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var view = new RunView(stdout, stderr, json: false, colour: false, new SecretMasker(), live: false);

        view.Report(new StepStarted("build", "build", 1, "make", false));
        view.Report(new StepOutputEvent("build", 1, true, "warning: x"));

        Assert.That(stderr.ToString(), Is.EqualTo("==> build: step 1 make\n[build:1] warning: x\n"));
        Assert.That(stdout.ToString(), Is.Empty);
    }

    /// <summary>A clock that stands still, so that the elapsed times shown do not depend on how fast the test runs.</summary>
    private sealed class At(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
