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
    public async Task Half_a_cpu_holds_four_busy_loops_to_about_half_a_cpu(CancellationToken ct)
    {
        // Four loops want four CPUs: even while other test assemblies load both cores, the group can use its
        // 50 ms quota early in most 100 ms periods and be throttled for the rest, so the limit is what holds it.
        var run = await Host.RunAsync(Host.Spec("sh", "-c", "for i in 1 2 3; do while :; do :; done & done; while :; do :; done") with
        {
            Limits = new ContainerLimits(MilliCpus: 500, Pids: 64),
            Timeout = TimeSpan.FromSeconds(3),
        }, ct);

        Assert.That(run.Result.TimedOut, Is.True, run.ToString());
        Assert.That(run.Result.ThrottledPeriods, Is.GreaterThan(5), run.ToString());
        // At most the quota over the whole run (a timeout's grace period included), with 10% for period edges;
        // unlimited, four loops on two cores would use two CPUs.
        var cpus = run.Result.CpuTime / run.Result.WallTime;
        Assert.That(cpus, Is.InRange(0.2, 0.55), run.ToString());
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
