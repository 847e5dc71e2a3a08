using System.Diagnostics;
using Ci.Isolation.Processes;

namespace Ci.Isolation.Tests.Processes;

/// <summary>The one liveness check: a pid and its start time, so a reused pid is not taken for the process that left something behind.</summary>
public sealed class ProcessIdentityTests
{
    [Test]
    public void This_process_is_alive_and_reads_back_from_its_token()
    {
        var self = ProcessIdentity.Current;

        Assert.That(self.Pid, Is.EqualTo(Environment.ProcessId));
        Assert.That(self.IsAlive && self.IsCurrent, Is.True);
        Assert.That(ProcessIdentity.TryParse(self.Token, out var read) && read == self, Is.True);
        Assert.That(self.Token, Does.Not.Contain("-"), "names use '-' as a separator");
    }

    [Test]
    public void A_live_pid_with_another_start_time_is_a_reused_pid_not_the_process()
    {
        var reused = ProcessIdentity.Current with { StartTicks = ProcessIdentity.Current.StartTicks + 1 };

        Assert.That(reused.IsAlive, Is.False);
        Assert.That(ProcessIdentity.IsAliveToken(reused.Token), Is.False);
    }

    [Test]
    public async Task A_process_that_ended_is_not_alive()
    {
        using var child = Process.Start("true")!;
        var pid = child.Id;
        var token = $"{pid}.1";
        await child.WaitForExitAsync();

        Assert.That(ProcessIdentity.IsAliveToken(token), Is.False);
    }

    [TestCase("12345 67890", 12345, 67890L)]
    [TestCase("12345.67890", 12345, 67890L)]
    public void Older_formats_are_read(string text, int pid, long start)
    {
        Assert.That(ProcessIdentity.TryParse(text, out var read), Is.True);
        Assert.That((read.Pid, read.StartTicks), Is.EqualTo((pid, start)));
    }

    [Test]
    public void A_bare_pid_says_whether_some_process_has_it_now() =>
        Assert.That(ProcessIdentity.IsAliveToken(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)), Is.True);

    [TestCase("")]
    [TestCase("abc")]
    [TestCase("-5")]
    [TestCase("1.2.3")]
    [TestCase("0")]
    public void What_is_not_a_token_is_not_a_live_process(string text) => Assert.That(ProcessIdentity.IsAliveToken(text), Is.False);
}
