namespace Ci.Isolation.Tests.Containers;

/// <summary>
/// One long-lived runner-init (the launcher) makes every container of a runtime, each on a thread of its own: containers
/// running at once must stay apart, the launcher must give back what each used, and its death must take its containers with it.
/// </summary>
[Category("Container")]
[NonParallelizable]
public sealed class LauncherTests : ContainerFixture
{
    [Test, CancelAfter(60_000)]
    public async Task Containers_made_at_once_keep_their_own_output_hostname_mounts_and_exit_code(CancellationToken ct)
    {
        var runs = await Task.WhenAll(Enumerable.Range(1, 6).Select(i => Host.RunAsync(Host.Spec("/bin/sh", "-c",
            $"echo {i} > /tmp/mine; sleep 0.3; hostname; cat /tmp/mine; ls /tmp; echo err{i} >&2; exit {i}") with { Hostname = $"c{i}" }, ct)));

        for (var i = 1; i <= 6; i++)
        {
            var run = runs[i - 1];
            Assert.That(run.Result.ExitCode, Is.EqualTo(i), run.ToString());
            Assert.That(run.Stdout, Is.EqualTo($"c{i}\n{i}\nmine"), "its own hostname and root, none of the others' files");
            Assert.That(run.Stderr, Is.EqualTo($"err{i}"));
        }

        Assert.That(Host.Leftovers(), Is.Empty);
    }

    [Test, CancelAfter(120_000)]
    public async Task Many_containers_later_the_launcher_holds_no_more_descriptors_threads_or_memory_than_after_the_first(CancellationToken ct)
    {
        await Host.RunAsync(Host.Spec("true"), ct);
        var launcher = Host.Runtime.LauncherPid ?? throw new InvalidOperationException("no launcher");
        var (fds, threads, rss) = await SettledAsync(launcher, ct);

        for (var i = 0; i < 60; i++)
        {
            await Host.RunAsync(Host.Spec("/bin/sh", "-c", "echo x") with { Init = i % 2 == 0 }, ct);
        }

        var after = await SettledAsync(launcher, ct);
        Assert.That(Host.Runtime.LauncherPid, Is.EqualTo(launcher), "the same launcher made them all");
        Assert.That(after.Fds, Is.EqualTo(fds), "descriptors");
        Assert.That(after.Threads, Is.EqualTo(threads), "threads: each container's ends with it");
        Assert.That(after.Rss, Is.LessThan(rss + (2 << 20)), "resident memory grows by less than 2 MiB over 60 containers");
    }

    [Test, CancelAfter(60_000)]
    public async Task A_killed_launcher_takes_its_containers_with_it_and_the_next_container_gets_a_new_one(CancellationToken ct)
    {
        await Host.RunAsync(Host.Spec("true"), ct);
        var launcher = Host.Runtime.LauncherPid!.Value;
        var running = Host.RunAsync(Host.Spec("sleep", "7171") with { Init = true }, ct);
        while (!ContainerHost.HostProcesses("sleep 7171").Any())
        {
            await Task.Delay(20, ct);
        }

        _ = Native.Libc.kill(launcher, Native.Libc.SigKill);
        var killed = await running;
        var next = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "echo again"), ct);

        Assert.That(killed.Result.Signal, Is.EqualTo(9), "its PID 1 died with the launcher (parent-death signal): " + killed);
        Assert.That(killed.Stderr, Does.Contain("runner-init, which made this container, ended before it did"), "the user is told why");
        Assert.That(ContainerHost.HostProcesses("sleep 7171"), Is.Empty, "nothing of it is left running");
        Assert.That((next.Result.ExitCode, next.Stdout), Is.EqualTo(((int?)0, "again")));
        Assert.That(Host.Runtime.LauncherPid, Is.Not.EqualTo(launcher), "a new launcher");
        Assert.That(Host.Leftovers(), Is.Empty);
    }

    /// <summary>The launcher's usage once a container's thread, which answers before it exits, is gone.</summary>
    private static async Task<(int Fds, int Threads, long Rss)> SettledAsync(int pid, CancellationToken ct)
    {
        var last = Usage(pid);
        for (var i = 0; i < 40; i++)
        {
            await Task.Delay(50, ct);
            var now = Usage(pid);
            if (now.Fds == last.Fds && now.Threads == last.Threads)
            {
                return now;
            }

            last = now;
        }

        return last;
    }

    private static (int Fds, int Threads, long Rss) Usage(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        long Field(string name) => long.Parse(status.First(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1]);
        return (Directory.GetFiles($"/proc/{pid}/fd").Length, (int)Field("Threads"), Field("VmRSS") * 1024);
    }
}
