using CliWrap;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Containers;

/// <summary>Limits hold and are reported: memory (OOM), CPU quota, processes, time.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class LimitsTests : ContainerFixture
{
    private const long MiB = 1024 * 1024;

    // dd allocates its block size as one buffer and fills it: a 512 MiB block needs 512 MiB of memory.
    [Test, CancelAfter(60_000)]
    public async Task Allocating_512_MiB_under_a_256_MiB_limit_is_reported_as_oom_killed(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("dd", "if=/dev/zero", "of=/dev/null", "bs=512M", "count=1") with
        {
            Limits = new ContainerLimits(MemoryBytes: 256 * MiB, Pids: 64),
        }, ct);

        Assert.That(run.Result.OomKilled, Is.True, run.ToString());
        Assert.That(run.Result.Signal, Is.EqualTo(9));
        Assert.That(run.Result.ShellExitCode, Is.EqualTo(137));
        Assert.That(run.Result.PeakMemoryBytes, Is.GreaterThan(200 * MiB).And.LessThanOrEqualTo(256 * MiB));
    }

    [Test, CancelAfter(60_000)]
    public async Task Allocating_128_MiB_under_a_256_MiB_limit_passes(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1") with
        {
            Limits = new ContainerLimits(MemoryBytes: 256 * MiB, Pids: 64),
        }, ct);

        Assert.That(run.Result.OomKilled, Is.False, run.ToString());
        Assert.That(run.Result.ExitCode, Is.EqualTo(0));
        Assert.That(run.Result.PeakMemoryBytes, Is.GreaterThan(128 * MiB));
    }

    [Test, CancelAfter(60_000)]
    public async Task Half_a_cpu_gives_a_busy_loop_about_half_a_cpu(CancellationToken ct)
    {
        // busybox timeout execs the command and signals it from a child: under an init, so the SIGTERM is not ignored by a PID 1.
        var run = await Host.RunAsync(Host.Spec("timeout", "3", "sh", "-c", "while :; do :; done") with
        {
            Init = true,
            Limits = new ContainerLimits(MilliCpus: 500, Pids: 64),
        }, ct);

        // The quota is 50 ms per 100 ms period: the loop is throttled in most periods and gets about 1.5 s of CPU in 3 s.
        Assert.That(run.Result.ThrottledPeriods, Is.GreaterThan(10), run.ToString());
        // At most the quota (1.5 s, with 10% for period edges); at least a fair part of it even on a busy host.
        Assert.That(run.Result.CpuTime.TotalSeconds, Is.InRange(0.6, 1.65), run.ToString());
    }

    [Test, CancelAfter(120_000)]
    public async Task A_fork_bomb_is_stopped_by_the_pids_limit_and_the_host_stays_responsive(CancellationToken ct)
    {
        var bomb = Host.RunAsync(Host.Spec("/bin/sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 3") with
        {
            Limits = new ContainerLimits(Pids: 64, MemoryBytes: 256 * MiB),
            Timeout = TimeSpan.FromSeconds(6),
        }, ct);

        await Task.Delay(1500, ct);
        var host = await CliWrap.Buffered.BufferedCommandExtensions.ExecuteBufferedAsync(
            Cli.Wrap("/bin/sh").WithArguments(["-c", "echo host alive"]).WithValidation(CommandResultValidation.None), ct);
        var run = await bomb;

        Assert.That(host.ExitCode, Is.EqualTo(0), host.StandardError);
        Assert.That(host.StandardOutput, Is.EqualTo("host alive\n"));
        Assert.That(run.Stderr, Does.Contain("can't fork"), run.ToString());
        Assert.That(Host.Leftovers(), Is.Empty);
    }

    [Test, CancelAfter(60_000)]
    public async Task The_pids_limit_is_the_containers_alone_runner_init_and_its_threads_are_not_counted(CancellationToken ct)
    {
        // PID 1's shell and two children: three processes, the limit. runner-init (a .NET process with several threads)
        // monitors from outside the container's cgroup, as conmon does; inside it, its threads alone would use the limit up.
        var run = await Host.RunAsync(Host.Spec("sh", "-c", "sleep 0.2 & sleep 0.2 & wait; echo both ran; cat /sys/fs/cgroup/pids/pids.current 2>/dev/null; true") with
        {
            Init = false,
            Limits = new ContainerLimits(Pids: 3, MemoryBytes: 256 * MiB),
        }, ct);

        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout, Does.StartWith("both ran"), run.ToString());
    }

    [Test, CancelAfter(60_000)]
    public async Task A_timeout_kills_the_whole_process_tree(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "trap '' TERM; sleep 313 & sleep 313 & (sleep 313 &); sleep 313") with
        {
            Timeout = TimeSpan.FromSeconds(1),
            StopGracePeriod = TimeSpan.FromSeconds(1),
        }, ct);

        Assert.That(run.Result.TimedOut, Is.True, run.ToString());
        Assert.That(run.Result.ExitCode, Is.Null);
        Assert.That(ContainerHost.HostProcesses("sleep 313"), Is.Empty);
        Assert.That(Host.Leftovers(), Is.Empty);
    }

    [Test, CancelAfter(60_000)]
    public async Task A_command_that_stops_on_sigterm_ends_within_the_grace_period(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "trap 'echo stopping; exit 0' TERM; while :; do sleep 0.1; done") with
        {
            // A grace period far longer than the test may take: finishing at all shows it was not waited out.
            Timeout = TimeSpan.FromSeconds(1),
            StopGracePeriod = TimeSpan.FromMinutes(10),
        }, ct);

        Assert.That(run.Result.TimedOut, Is.True);
        Assert.That(run.Stdout, Is.EqualTo("stopping"), "SIGTERM reaches the command through init");
    }
}
