using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Containers;

/// <summary>A step must not see or touch the host. Real containers, as root.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class IsolationTests : ContainerFixture
{

    [Test, CancelAfter(30_000)]
    public async Task The_command_is_PID_1_and_sees_no_host_process(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("ps", "-o", "pid,args"), ct);

        var processes = run.Stdout.Split('\n').Skip(1).Select(l => l.Trim()).ToList();
        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(processes, Is.EqualTo(new[] { "1 ps -o pid,args" }), run.Stdout);
    }

    [Test, CancelAfter(30_000)]
    public async Task With_an_init_the_command_is_PID_2_and_orphans_are_reaped(CancellationToken ct)
    {
        // The subshell's sleep is orphaned at once and re-parented to PID 1; the init must reap it, or it stays a zombie (Z).
        var spec = Host.Spec("/bin/sh", "-c", "echo $$; (sleep 0.2 &); sleep 1; ps -o pid,stat,args") with { Init = true };

        var run = await Host.RunAsync(spec, ct);

        var lines = run.Stdout.Split('\n');
        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(lines[0], Is.EqualTo("2"), "the command runs under the init");
        var processes = lines.Skip(2).Where(l => l.Length > 0).Select(l => l.Trim()).ToList();
        Assert.That(processes, Has.Count.EqualTo(2), "the orphaned sleep is gone, reaped, not a zombie: " + run.Stdout);
        Assert.That(processes[0], Does.StartWith("1 ").And.EndWith(" init").And.Not.Contain(Host.Directory), "PID 1 shows no host path");
        Assert.That(processes[1], Does.StartWith("2 "));
    }

    [Test, CancelAfter(30_000)]
    public async Task Without_an_init_a_PID_1_that_ignores_SIGTERM_is_killed_after_the_grace_period(CancellationToken ct)
    {
        var spec = Host.Spec("sleep", "30") with { Timeout = TimeSpan.FromMilliseconds(300), StopGracePeriod = TimeSpan.FromMilliseconds(500) };

        var run = await Host.RunAsync(spec, ct);

        Assert.That(run.Result.TimedOut, Is.True);
        Assert.That(run.Result.Signal, Is.EqualTo(9), "PID 1 without a handler ignores SIGTERM; SIGKILL ends it");
        Assert.That(Host.Leftovers(), Is.Empty);
    }

    [Test, CancelAfter(30_000)]
    public async Task A_running_containers_launcher_and_init_show_no_host_path_and_the_leak_check_finds_them(CancellationToken ct)
    {
        var spec = Host.Spec("sleep", "271") with { Init = true, Timeout = TimeSpan.FromSeconds(20) };
        var running = Host.RunAsync(spec, ct);
        List<string> inits = [];
        while (inits.Count < 2 && !running.IsCompleted)
        {
            await Task.Delay(20, ct);
            inits = Ci.Tests.Shared.HostProcesses.InitsUnder(Host.Directory).ToList();
        }

        var commandLines = inits.Select(p => File.ReadAllText($"/proc/{p.Split(':')[0]}/cmdline")).ToList();
        foreach (var sleep in ContainerHost.HostProcesses("sleep 271"))
        {
            _ = Native.Libc.kill(int.Parse(sleep.Split(':')[0]), Native.Libc.SigKill);
        }

        await running;

        Assert.That(inits, Has.Count.EqualTo(2), "the launcher (holding the result file) and PID 1 (its clone, the init, holding the output FIFOs): " +
            string.Join("; ", inits));
        Assert.That(commandLines, Is.All.EqualTo("init\0"));
        Assert.That(Host.Leftovers(), Is.Empty);
    }

    [Test, CancelAfter(30_000)]
    public async Task With_an_init_SIGTERM_reaches_the_command(CancellationToken ct)
    {
        var spec = Host.Spec("sleep", "30") with { Init = true, Timeout = TimeSpan.FromMilliseconds(300), StopGracePeriod = TimeSpan.FromSeconds(20) };

        var run = await Host.RunAsync(spec, ct);

        Assert.That(run.Result.TimedOut, Is.True);
        Assert.That(run.Result.Signal, Is.EqualTo(15), "the init forwards SIGTERM, and sleep dies of it well before the grace period ends");
    }

    [Test, CancelAfter(30_000)]
    public async Task The_container_has_its_own_hostname_hosts_and_resolver_files(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "cat /etc/hostname; grep -c localhost /etc/hosts; grep step-9 /etc/hosts; grep -c nameserver /etc/resolv.conf") with { Hostname = "step-9" }, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "step-9", "2", "127.0.1.1\tstep-9", "0" }), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task The_hosts_files_are_not_visible(CancellationToken ct)
    {
        var run = await Host.ShAsync("ls /; test -e /usr/share/dotnet || echo no-dotnet; test -e /etc/os-release || echo no-os-release", ct);

        Assert.That(run.Stdout.Split('\n'), Is.EquivalentTo(new[] { "bin", "data", "dev", "etc", "proc", "root", "sys", "tmp", "no-dotnet", "no-os-release" }));
    }

    [Test, CancelAfter(30_000)]
    public async Task The_hostname_is_the_containers_own(CancellationToken ct)
    {
        var hostBefore = Environment.MachineName;

        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "hostname; hostname evil 2>&1 || echo refused") with { Hostname = "step-1" }, ct);

        Assert.That(run.Stdout.Split('\n')[0], Is.EqualTo("step-1"));
        Assert.That(run.Stdout, Does.Contain("refused"));
        Assert.That(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), Is.EqualTo(hostBefore));
    }

    [Test, CancelAfter(30_000)]
    public async Task Writes_to_proc_sys_sys_and_sysrq_trigger_fail(CancellationToken ct)
    {
        var run = await Host.ShAsync(
            "echo x > /proc/sys/kernel/domainname || echo denied-proc-sys;" +
            "echo 1 > /sys/kernel/mm/ksm/run || echo denied-sys;" +
            "echo h > /proc/sysrq-trigger || echo denied-sysrq;" +
            "cat /proc/kcore | head -c 1 | wc -c", ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "denied-proc-sys", "denied-sys", "denied-sysrq", "0" }), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task Mount_unshare_and_setns_escapes_fail(CancellationToken ct)
    {
        var run = await Host.ShAsync(
            "mount -t tmpfs none /tmp 2>/dev/null || echo no-mount;" +
            "unshare -U -r -m sh -c 'mount -t tmpfs none /tmp' 2>/dev/null || echo no-userns;" +
            "unshare -m true 2>/dev/null || echo no-mountns;" +
            "nsenter -t 1 -m true 2>/dev/null || echo no-setns;" +
            "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\\t' ' '", ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "no-mount", "no-userns", "no-mountns", "no-setns", "NoNewPrivs: 1", "Seccomp: 2" }), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task Disk_devices_cannot_be_made_or_read(CancellationToken ct)
    {
        var run = await Host.ShAsync("mknod /tmp/sda b 8 0 2>/dev/null || echo no-mknod; ls /dev | tr '\\n' ' '; echo; cat /dev/sda 2>/dev/null || echo no-sda", ct);

        var lines = run.Stdout.Split('\n');
        Assert.That(lines[0], Is.EqualTo("no-mknod"));
        Assert.That(lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries),
            Is.EquivalentTo(new[] { "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero" }));
        Assert.That(lines[2], Is.EqualTo("no-sda"));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_device_node_in_an_image_layer_cannot_be_opened(CancellationToken ct)
    {
        // /dev/null's numbers, which even the v1 device cgroup allows: only the root's nodev refuses it (as it must on cgroup v2, which has no device controller).
        var layer = Directory.CreateDirectory(Path.Combine(Host.Directory, "device-layer")).FullName;
        var mknod = await CliWrap.Cli.Wrap("mknod").WithArguments([Path.Combine(layer, "null-copy"), "c", "1", "3"]).ExecuteAsync(ct);
        Assert.That(mknod.ExitCode, Is.EqualTo(0));

        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "echo x > /null-copy && echo opened || echo refused; echo x > /dev/null && echo dev-null-works") with
        {
            Layers = [layer, Host.Rootfs],
        }, ct);

        Assert.That(run.Stdout, Is.EqualTo("refused\ndev-null-works"), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task A_host_disk_given_as_a_volume_still_cannot_be_read(CancellationToken ct)
    {
        if (Host.Runtime.Cgroups.Mode == Ci.Isolation.Cgroups.CgroupMode.Unified)
        {
            Assert.Ignore("the device controller on cgroup v2 needs an eBPF program, which the runtime does not load yet");
        }

        // A node for the block device under the host's root file system, as a careless volume might expose it.
        var root = File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).First(f => f[4] == "/")[2];
        var node = Path.Combine(Host.Directory, "disk");
        var mknod = await CliWrap.Cli.Wrap("mknod").WithArguments([node, "b", .. root.Split(':')]).ExecuteAsync(ct);
        Assert.That(mknod.ExitCode, Is.EqualTo(0));

        // Writable, so the mount is not nodev: the device cgroup is what refuses it.
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "head -c 512 /disk > /dev/null && echo read || echo refused") with
        {
            Mounts = [new BindMount(node, "/disk")],
        }, ct);

        Assert.That(run.Stdout, Is.EqualTo("refused"), run.ToString());
        Assert.That(run.Stderr, Does.Contain("Operation not permitted"), "EPERM from the device cgroup");
    }

    [Test, CancelAfter(30_000)]
    public async Task A_non_root_user_has_no_capabilities(CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "id -u; id -g; grep CapEff /proc/self/status") with { Uid = 65534, Gid = 65534 }, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "65534", "65534", "CapEff:\t0000000000000000" }), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task Root_in_the_container_keeps_only_the_default_capabilities(CancellationToken ct)
    {
        var run = await Host.ShAsync("grep -E '^Cap(Eff|Bnd)' /proc/self/status", ct);

        var expected = DefaultCapabilities.Podman.Aggregate(0UL, (mask, cap) => mask | 1UL << cap).ToString("x16");
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { $"CapEff:\t{expected}", $"CapBnd:\t{expected}" }));
    }

    [Test, CancelAfter(30_000)]
    public unsafe void Descriptors_the_runner_holds_do_not_leak_into_the_container(CancellationToken ct)
    {
        // An fd without O_CLOEXEC, as a careless library might leave one open in the runner.
        var path = Path.Combine(Host.Directory, "secret-fd");
        File.WriteAllText(path, "host secret");
        var fd = Open(path, 0);
        try
        {
            var run = Host.ShAsync("ls /proc/self/fd | tr '\\n' ' '", ct).GetAwaiter().GetResult();

            Assert.That(run.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse), Is.SubsetOf(new[] { 0, 1, 2, 3 }), run.ToString());
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task Read_only_volumes_are_read_only_and_others_writable(CancellationToken ct)
    {
        var ro = Directory.CreateDirectory(Path.Combine(Host.Directory, "ro-volume")).FullName;
        var rw = Directory.CreateDirectory(Path.Combine(Host.Directory, "rw-volume")).FullName;
        File.WriteAllText(Path.Combine(ro, "in.txt"), "input\n");

        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "cat /in/in.txt; echo x > /in/new 2>/dev/null || echo ro-refused; echo out > /out/result") with
        {
            Mounts = [new BindMount(ro, "/in", ReadOnly: true), new BindMount(rw, "/out")],
        }, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "input", "ro-refused" }));
        Assert.That(File.ReadAllText(Path.Combine(rw, "result")), Is.EqualTo("out\n"));
        Assert.That(File.Exists(Path.Combine(ro, "new")), Is.False);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
