using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;
using Ci.Isolation.Init;

namespace Ci.Isolation.Tests.Containers;

/// <summary>Results, layers and clean-up: a container leaves nothing behind, however it ends.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class LifecycleTests : ContainerFixture
{

    [Test, CancelAfter(60_000)]
    public async Task A_set_up_failure_keeps_the_failed_call_and_its_errno_across_runner_init(CancellationToken ct)
    {
        var missing = Path.Combine(Host.Directory, "no-such-layer-" + Guid.NewGuid().ToString("N")[..6]);

        var ex = Assert.ThrowsAsync<ContainerSetupException>(() => Host.RunAsync(Host.Spec("true") with { Layers = [missing, Host.Rootfs] }, ct));

        Assert.That(ex!.Operation, Does.StartWith("mount("), ex.Message);
        Assert.That(ex.Errno, Is.EqualTo(2), ex.Message); // ENOENT
        Assert.That(ex.Message, Does.StartWith("container set-up failed: mount("));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_container_of_the_launcher_runs_as_one_with_a_runner_init_of_its_own_does(CancellationToken ct)
    {
        // runner run starts a runner-init per container; runner exec (and this fixture) has one launcher make them all.
        var own = ContainerRuntime.Create(Host.Runtime.Options with { UseLauncher = false });
        var spec = Host.Spec("/bin/sh", "-c", "echo out; echo err >&2; cat /proc/self/cgroup | grep -c memory:/$; exit 3") with { Init = true };
        var lines = new List<OutputLine>();

        var once = await own.RunAsync(spec, line => { lock (lines) { lines.Add(line); } }, ct);
        var launched = await Host.RunAsync(spec, ct);
        var stopped = await Host.RunAsync(Host.Spec("sleep", "30") with { Timeout = TimeSpan.FromMilliseconds(300) }, ct);

        string[] expected = ["Stdout out", "Stderr err", "Stdout 1"];
        Assert.That(lines.Select(l => $"{l.Stream} {l.Text}"), Is.EquivalentTo(expected));
        Assert.That(launched.Lines.Select(l => $"{l.Stream} {l.Text}"), Is.EquivalentTo(expected), "the same output, on the same streams, in its own cgroup");
        Assert.That((once.ExitCode, launched.Result.ExitCode), Is.EqualTo(((int?)3, (int?)3)));
        Assert.That((stopped.Result.TimedOut, stopped.Result.Signal), Is.EqualTo((true, (int?)9)), "a timeout stops a launched container: SIGTERM, then SIGKILL");
        Assert.That(Host.Leftovers(), Is.Empty, "the launcher holds nothing of a container that ended");
    }

    [Test, CancelAfter(30_000)]
    public async Task A_state_directory_mounted_noexec_is_refused_at_start_with_the_reason(CancellationToken ct)
    {
        // runner-init is unpacked into the state directory and executed from there.
        var state = Directory.CreateDirectory(Path.Combine(Host.Directory, "noexec-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        await Cli.Wrap("mount").WithArguments(["-t", "tmpfs", "-o", "size=16m,noexec", "tmpfs", state]).ExecuteAsync(ct);
        try
        {
            var ex = Assert.Throws<IsolationException>(() => ContainerRuntime.Create(Host.Runtime.Options with { StateDirectory = state }));

            Assert.That(ex!.Message, Does.StartWith($"runner-init cannot be executed from {state}/native/").And.Contain("mounted noexec"));
        }
        finally
        {
            await Cli.Wrap("umount").WithArguments([state]).ExecuteAsync(CancellationToken.None);
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task Exit_codes_and_signals_are_reported_as_the_shell_sees_them(CancellationToken ct)
    {
        // Under an init: a PID 1 shell could not kill itself (the kernel protects a namespace's init from its own members).
        var exited = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "exit 42") with { Init = true }, ct);
        var killed = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "kill -KILL $$") with { Init = true }, ct);

        Assert.That((exited.Result.ExitCode, exited.Result.Signal, exited.Result.ShellExitCode), Is.EqualTo((42, (int?)null, 42)));
        Assert.That((killed.Result.ExitCode, killed.Result.Signal, killed.Result.ShellExitCode), Is.EqualTo(((int?)null, 9, 137)));
        Assert.That(killed.Result.OomKilled, Is.False);
    }

    [Test, CancelAfter(30_000)]
    public async Task A_containers_start_is_timed_to_its_commands_execve_within_its_run(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "sleep 0.3"), ct);

        Assert.That(run.Result.StartDuration, Is.Not.Null);
        Assert.That(run.Result.StartDuration!.Value, Is.GreaterThan(TimeSpan.Zero));
        // The command's own 0.3 s come after its start: the start cannot take the whole run.
        Assert.That(run.Result.WallTime - run.Result.StartDuration.Value, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300)));
    }

    [Test, CancelAfter(60_000)]
    public async Task With_deferred_clean_up_containers_stack_on_each_others_layers_and_drain_leaves_nothing(CancellationToken ct)
    {
        // What exec does: each container's upper directory becomes the next one's top layer while the previous clean-up may still run.
        var runtime = ContainerRuntime.Create(Host.Runtime.Options with { DeferCleanup = true });
        var layers = new List<string> { Host.Rootfs };
        var uppers = Directory.CreateDirectory(Path.Combine(Host.Directory, "uppers-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var results = new List<ContainerResult>();
        for (var i = 1; i <= 5; i++)
        {
            var upper = Directory.CreateDirectory(Path.Combine(uppers, $"step-{i}")).FullName;
            results.Add(await runtime.RunAsync(Host.Spec("/bin/sh", "-c", $"test $(ls /tmp | wc -l) -eq {i - 1} && touch /tmp/{i}") with
            {
                Layers = [.. Enumerable.Reverse(layers)],
                UpperDirectory = upper,
                Init = true,
            }, cancellationToken: ct));
            layers.Add(upper);
        }

        await runtime.DrainAsync();

        Assert.That(results.Select(r => r.ExitCode), Is.All.EqualTo(0), "each container saw exactly the files of the ones before it");
        Assert.That(Host.Leftovers(), Is.Empty);
        Assert.That(Directory.EnumerateDirectories(uppers).Select(Path.GetFileName), Is.EquivalentTo(new[] { "step-1", "step-2", "step-3", "step-4", "step-5" }),
            "the uppers stay; their work directories are gone");
    }

    [Test, CancelAfter(30_000)]
    public async Task Output_streams_arrive_line_by_line_in_order_on_their_own_channels(CancellationToken ct)
    {
        var run = await Host.ShAsync("for i in 1 2 3; do echo out$i; echo err$i >&2; done", ct);

        Assert.That(run.Stdout, Is.EqualTo("out1\nout2\nout3"));
        Assert.That(run.Stderr, Is.EqualTo("err1\nerr2\nerr3"));
        // Each stream is read on its own thread: timestamps are ordered within a stream.
        Assert.That(run.Lines.Where(l => l.Stream == OutputStream.Stdout).Select(l => l.Timestamp), Is.Ordered);
        Assert.That(run.Lines.Where(l => l.Stream == OutputStream.Stderr).Select(l => l.Timestamp), Is.Ordered);
    }

    [Test, CancelAfter(30_000)]
    public async Task A_containers_state_directory_is_private_to_root_while_it_runs(CancellationToken ct)
    {
        var run = Host.RunAsync(Host.Spec("sleep", "1") with { Env = new Dictionary<string, string> { ["TOKEN"] = "s3cret" } }, ct);
        var containers = Path.Combine(Host.StateDirectory, "c");
        string? dir = null;
        while (dir is null && !run.IsCompleted)
        {
            dir = Directory.Exists(containers) ? Directory.EnumerateDirectories(containers).FirstOrDefault() : null;
        }

        Assert.That(dir, Is.Not.Null);
        Assert.That(File.GetUnixFileMode(dir!), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        await run;
    }

    [Test, CancelAfter(30_000)]
    public async Task A_missing_command_exits_127_with_a_message(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("no-such-tool", "--version"), ct);

        Assert.That(run.Result.ExitCode, Is.EqualTo(127));
        Assert.That(run.Stderr, Is.EqualTo("runner: exec no-such-tool: not found in PATH (/bin)"));
    }

    [Test, CancelAfter(30_000)]
    public async Task Layers_stay_unchanged_and_a_kept_upper_directory_holds_the_changes(CancellationToken ct)
    {
        var lower = Directory.CreateDirectory(Path.Combine(Host.Directory, "layer-1")).FullName;
        File.WriteAllText(Path.Combine(lower, "from-layer"), "layer\n");
        File.WriteAllText(Path.Combine(lower, "doomed"), "x\n");
        var upper = Path.Combine(Host.Directory, "upper-1");

        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "cat /from-layer; echo new > /created; rm /doomed; echo changed > /from-layer") with
        {
            Layers = [lower, Host.Rootfs],
            UpperDirectory = upper,
        }, ct);

        Assert.That(run.Stdout, Is.EqualTo("layer"), run.ToString());
        Assert.That(File.ReadAllText(Path.Combine(lower, "from-layer")), Is.EqualTo("layer\n"), "a lower layer is never written");
        Assert.That(File.Exists(Path.Combine(lower, "doomed")), Is.True);
        Assert.That(File.ReadAllText(Path.Combine(upper, "created")), Is.EqualTo("new\n"));
        Assert.That(File.ReadAllText(Path.Combine(upper, "from-layer")), Is.EqualTo("changed\n"));
        var whiteout = await Cli.Wrap("stat").WithArguments(["-c", "%F %t:%T", Path.Combine(upper, "doomed")]).ExecuteBufferedAsync(ct);
        Assert.That(whiteout.StandardOutput.Trim(), Is.EqualTo("character special file 0:0"), "a deletion is an overlayfs whiteout");
        Assert.That(Directory.EnumerateFileSystemEntries(upper).Select(Path.GetFileName), Is.EquivalentTo(new[] { "created", "from-layer", "doomed" }),
            "the upper directory holds the command's changes only: no mount points, no /etc/hosts");

        // The next container stacks the kept upper directory as a layer and starts from exactly that state.
        var next = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "cat /created /from-layer; test -e /doomed || echo gone") with
        {
            Layers = [upper, lower, Host.Rootfs],
        }, ct);
        Assert.That(next.Stdout, Is.EqualTo("new\nchanged\ngone"));
        Assert.That(Host.Leftovers(), Is.Empty);
    }

    [Test, CancelAfter(60_000)]
    public async Task A_chroot_escape_stays_inside(CancellationToken ct)
    {
        var escape = await Host.CompileStaticAsync("escape", """
            #include <dirent.h>
            #include <stdio.h>
            #include <sys/stat.h>
            #include <unistd.h>
            int main(void) {
                mkdir("/tmp/jail", 0755);
                if (chroot("/tmp/jail") != 0) { perror("chroot"); return 1; }
                for (int i = 0; i < 64; i++) chdir("..");   /* cwd was left outside the jail */
                if (chroot(".") != 0) { perror("chroot ."); return 1; }
                DIR *d = opendir("/");
                struct dirent *e;
                while ((e = readdir(d))) if (e->d_name[0] != '.') printf("%s\n", e->d_name);
                return 0;
            }
            """, ct);

        var run = await Host.RunAsync(Host.Spec("/escape") with
        {
            Mounts = [new BindMount(escape, "/escape", ReadOnly: true)],
        }, ct);

        var seen = run.Stdout.Split('\n').ToHashSet();
        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(seen, Is.SupersetOf(new[] { "bin", "etc", "proc" }), "the escape ends at the container's own root");
        Assert.That(seen, Has.None.AnyOf("usr", "var", "home", "opt", "boot"));
    }

    [Test]
    public void Syscall_numbers_match_the_kernel_headers()
    {
        const string Header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
        if (!File.Exists(Header))
        {
            Assert.Ignore($"{Header} is not installed (linux-libc-dev)");
        }

        var defined = File.ReadLines(Header)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 3 && p[0] == "#define" && p[1].StartsWith("__NR_", StringComparison.Ordinal))
            .ToDictionary(p => p[1][5..], p => long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture));

        Assert.That(defined["pivot_root"], Is.EqualTo(SyscallNumbers.PivotRoot));
        Assert.That(defined["capset"], Is.EqualTo(SyscallNumbers.Capset));
        Assert.That(defined["close_range"], Is.EqualTo(SyscallNumbers.CloseRange));
        Assert.That(defined["clone"], Is.EqualTo(SyscallNumbers.Clone));
        Assert.That(defined["clone3"], Is.EqualTo(SyscallNumbers.Clone3));
        Assert.That(defined["setgroups"], Is.EqualTo(SyscallNumbers.Setgroups));
        Assert.That(defined["setresuid"], Is.EqualTo(SyscallNumbers.Setresuid));
        Assert.That(defined["setresgid"], Is.EqualTo(SyscallNumbers.Setresgid));
        Assert.That(defined["unshare"], Is.EqualTo(SyscallNumbers.Unshare));
        Assert.That(defined["personality"], Is.EqualTo(SyscallNumbers.Personality));
        foreach (var (name, number) in SyscallNumbers.Allowed.Where(a => a.Value <= defined.Values.Max()))
        {
            Assert.That(defined.TryGetValue(name, out var n) ? n : -1, Is.EqualTo(number), name);
        }

        Assert.That(SyscallNumbers.Allowed.Values.Max(), Is.EqualTo(SyscallNumbers.HighestKnown));
    }

    [Test, CancelAfter(600_000)]
    [Category("Long")]
    public async Task Five_hundred_containers_in_a_row_leave_no_mount_cgroup_process_or_directory(CancellationToken ct)
    {
        var mountsBefore = File.ReadAllLines("/proc/self/mountinfo").ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < 500; i++)
        {
            var run = await Host.RunAsync(Host.Spec("/bin/true") with { Limits = new ContainerLimits(MilliCpus: 500, MemoryBytes: 256L << 20, Pids: 16) }, ct);
            Assert.That(run.Result.ExitCode, Is.EqualTo(0), $"container {i}: {run}");
        }

        Assert.That(Host.Leftovers(), Is.Empty);
        // Only this runtime's mounts count: the other test assemblies run jobs (and their network namespaces) at the same time.
        var added = File.ReadAllLines("/proc/self/mountinfo").Where(line => !mountsBefore.Contains(line)).ToList();
        Assert.That(added.Where(line => line.Contains(Host.Directory, StringComparison.Ordinal)
            || line.Contains(Ci.Isolation.Processes.ProcessIdentity.Current.Token, StringComparison.Ordinal)), Is.Empty, string.Join("\n", added));
    }
}
