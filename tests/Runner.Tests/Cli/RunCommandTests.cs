using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Cli;

/// <summary><c>runner run</c> as a user calls it: a real runner process, real containers, as root.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class RunCommandTests
{
    private string _dir = null!;
    private string _rootfs = null!;
    private string _state = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        if (!Environment.IsPrivilegedProcess || !File.Exists("/bin/busybox"))
        {
            Assert.Ignore("needs root and busybox-static (CI has both)");
        }

        _dir = Directory.CreateTempSubdirectory("rr-").FullName;
        _rootfs = Path.Combine(_dir, "rootfs");
        _state = Path.Combine(_dir, "state");
        await Ci.Tests.Shared.BusyboxRoot.CreateAsync(_rootfs);
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (_dir is not null)
        {
            // The test's own parent cgroups, empty once its containers are gone.
            foreach (var parent in Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, CgroupParent)).Where(Directory.Exists))
            {
                Directory.Delete(parent);
            }

            Directory.Delete(_dir, true);
        }
    }

    private Command Runner(params string[] args) => RunnerVerb(["run", "--rootfs", _rootfs, .. args]);

    private string CgroupParent => "runner-test-" + Path.GetFileName(_dir).ToLowerInvariant();

    [Test, CancelAfter(60_000)]
    public async Task Run_prints_the_output_and_exits_with_the_commands_code(CancellationToken ct)
    {
        var result = await Runner("-e", "WHO=world", "-w", "/bin", "--", "sh", "-c", "echo hello $WHO from $(pwd); echo oops >&2; exit 5").ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(5));
        Assert.That(result.StandardOutput, Is.EqualTo("hello world from /bin\n"));
        Assert.That(result.StandardError, Is.EqualTo("oops\n"));
    }

    [Test, CancelAfter(60_000)]
    public async Task An_oom_kill_is_said_in_words_with_the_limit_and_the_peak(CancellationToken ct)
    {
        var result = await Runner("--memory", "256Mi", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=512M", "count=1").ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(137));
        Assert.That(result.StandardError, Does.Match(@"runner: killed: out of memory \(limit 256 MiB, peak 2\d\d(\.\d)? MiB\)\n$"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_timeout_is_said_in_words(CancellationToken ct)
    {
        var result = await Runner("--init", "--timeout", "1s", "--", "sleep", "30").ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(143), "sleep, under an init, ends on SIGTERM");
        Assert.That(result.StandardError, Is.EqualTo("runner: killed: timed out after 1s\n"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_timeout_always_fails_even_when_the_command_ends_with_0_in_its_grace_period(CancellationToken ct)
    {
        // PID 1 ignores SIGTERM (no init); the command ends by itself during the grace period, with 0.
        var result = await Runner("--timeout", "1s", "--", "sh", "-c", "trap '' TERM; sleep 2; exit 0").ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(124));
        Assert.That(result.StandardError, Is.EqualTo("runner: killed: timed out after 1s\n"));
    }

    [Test, CancelAfter(60_000)]
    public async Task Docker_style_lowercase_sizes_are_taken_on_the_run_flags(CancellationToken ct)
    {
        var result = await Runner("--memory", "64m", "--", "sh", "-c", "head -c 200m /dev/zero | tail").WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);

        Assert.That(result.StandardError, Does.Contain("runner: killed: out of memory (limit 64 MiB"), "64m is 64 MiB, as docker takes it");
    }

    [Test, CancelAfter(60_000)]
    public async Task A_second_ctrl_c_kills_a_command_that_ignores_sigterm(CancellationToken ct)
    {
        var started = new TaskCompletionSource();
        var stderr = new System.Text.StringBuilder();
        var run = Runner("--", "sh", "-c", "trap '' TERM INT; echo up; sleep 30")
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line =>
            {
                if (line == "up")
                {
                    started.TrySetResult();
                }
            }))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr))
            .ExecuteAsync(ct);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);

        await CliWrap.Cli.Wrap("kill").WithArguments(["-INT", run.ProcessId.ToString()]).ExecuteAsync(ct);
        await Task.Delay(500, ct);
        await CliWrap.Cli.Wrap("kill").WithArguments(["-INT", run.ProcessId.ToString()]).ExecuteAsync(ct);
        var result = await run;

        Assert.That(result.ExitCode, Is.EqualTo(137), stderr.ToString());
        Assert.That(stderr.ToString(), Does.Contain("runner: stopping:").And.Contain("runner: killing what runs"));
        Assert.That(Directory.GetDirectories(Path.Combine(_state, "c")), Is.Empty, "the container is cleaned up");
    }

    [TestCase("--memory", "512q", "--memory: '512q' has an unknown unit 'q'")]
    [TestCase("--cpus", "lots", "--cpus: 'lots' is not a CPU count")]
    [TestCase("-v", "relative", "--volume 'relative' must be SRC:DST or SRC:DST:ro")]
    [TestCase("--user", "bob", "user 'bob' must be UID or UID:GID")]
    public async Task Bad_arguments_say_what_is_wrong_and_exit_2(string option, string value, string message)
    {
        var result = await Runner(option, value, "--", "true").ExecuteBufferedAsync();

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.StartWith("runner: " + message));
    }

    [Test, CancelAfter(60_000)]
    public async Task Killing_the_runner_mid_container_leaves_nothing_once_it_starts_again(CancellationToken ct)
    {
        var running = Runner("--", "sh", "-c", "sleep 317 & sleep 317").ExecuteAsync(ct);
        var containers = Path.Combine(_state, "c");
        while (!ContainerRunning())
        {
            await Task.Delay(50, ct);
        }

        // SIGKILL to the runner alone (not its process tree): it gets no chance to clean up.
        System.Diagnostics.Process.GetProcessById(running.ProcessId).Kill(entireProcessTree: false);
        await ExpectEnded(running);

        while (Processes("sleep 317").Any())
        {
            await Task.Delay(50, ct);
        }

        Assert.That(Directory.EnumerateDirectories(containers), Is.Not.Empty, "the dead runner's directory is still there");
        var next = await Runner("--", "true").ExecuteBufferedAsync(ct);

        Assert.That(next.ExitCode, Is.EqualTo(0), next.StandardError);
        Assert.That(Directory.EnumerateDirectories(containers), Is.Empty);
        Assert.That(Ci.Tests.Shared.HostProcesses.InitsUnder(_dir), Is.Empty);
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(_dir));
        foreach (var hierarchy in (string[])["memory", "pids", "cpu"])
        {
            var parent = $"/sys/fs/cgroup/{hierarchy}/{CgroupParent}";
            if (Directory.Exists(parent))
            {
                Assert.That(Directory.EnumerateDirectories(parent).Where(d => !File.ReadAllText(Path.Combine(d, "cgroup.procs")).Trim().Equals("", StringComparison.Ordinal)), Is.Empty);
            }
        }

        bool ContainerRunning() => Directory.Exists(containers) && Directory.EnumerateDirectories(containers).Any() && Processes("sleep 317").Count() >= 2;
    }

    private static async Task ExpectEnded(CommandTask<CommandResult> task) => Assert.That((await task).ExitCode, Is.EqualTo(137));

    private static IEnumerable<string> Processes(string text) => Ci.Tests.Shared.HostProcesses.WithCommandLine(text);

    private CliWrap.Command RunnerVerb(params string[] args) => Cli.RunnerCli.Command(args)
        .WithEnvironmentVariables(e => e.Set("RUNNER_STATE_DIR", _state).Set("RUNNER_CGROUP_PARENT", CgroupParent));

    [Test, CancelAfter(120_000)]
    public async Task An_imported_root_file_system_runs_by_name_with_its_config(CancellationToken ct)
    {
        var tar = Path.Combine(_dir, "busybox.tar.gz");
        await CliWrap.Cli.Wrap("tar").WithArguments(["-C", _rootfs, "-czf", tar, "."]).ExecuteAsync(ct);

        var import = await RunnerVerb("image", "import", tar, "--tag", "box:1").ExecuteBufferedAsync(ct);
        var list = await RunnerVerb("image", "ls", "--json").ExecuteBufferedAsync(ct);
        var table = await RunnerVerb("image", "ls").ExecuteBufferedAsync(ct);
        var inspect = await RunnerVerb("image", "inspect", "box:1").ExecuteBufferedAsync(ct);
        var run = await RunnerVerb("run", "box:1", "sh", "-c", "echo $PATH; pwd; ls /bin/busybox").ExecuteBufferedAsync(ct);
        var defaultCmd = await RunnerVerb("run", "docker.io/library/box:1").ExecuteBufferedAsync(ct);

        Assert.That(import.ExitCode, Is.EqualTo(0), import.StandardError);
        Assert.That(import.StandardOutput, Does.Match("^docker.io/library/box:1 1 layer sha256:[0-9a-f]{64}\n$"));
        Assert.That(list.StandardOutput, Does.Contain("\"name\": \"docker.io/library/box:1\""));
        var unpacked = Directory.EnumerateFiles(_rootfs, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).Sum(f => new FileInfo(f).Length);
        Assert.That(System.Text.Json.JsonDocument.Parse(list.StandardOutput).RootElement[0].GetProperty("size").GetInt64(), Is.EqualTo(unpacked), "the size is the unpacked layers'");
        Assert.That(table.StandardOutput.Split('\n')[0], Does.Match(@"^NAME\s+LAYERS\s+SIZE\s+CREATED$"));
        Assert.That(table.StandardOutput, Does.Match(@"\nrunner:host\s+host\s+-\s+built in"), "the built-in image is listed");
        Assert.That(table.StandardOutput, Does.Match(@"\ndocker.io/library/box:1\s+1\s+[0-9.]+ [KM]i?B\s+\d{4}-\d\d-\d\d \d\d:\d\d\n"));
        using var described = System.Text.Json.JsonDocument.Parse(inspect.StandardOutput);
        Assert.That(described.RootElement.GetProperty("config").GetProperty("cmd")[0].GetString(), Is.EqualTo("/bin/sh"));
        Assert.That(described.RootElement.GetProperty("layers").GetArrayLength(), Is.EqualTo(1));
        Assert.That(run.StandardOutput, Is.EqualTo("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/\n/bin/busybox\n"), run.StandardError);
        Assert.That(defaultCmd.ExitCode, Is.EqualTo(0), "the default command is /bin/sh, reading an empty stdin");
    }

    [Test, CancelAfter(60_000)]
    public async Task A_hostile_archive_is_refused_naming_the_entry_and_leaves_no_image(CancellationToken ct)
    {
        var tar = Path.Combine(_dir, "hostile.tar");
        using (var file = File.Create(tar))
        using (var writer = new System.Formats.Tar.TarWriter(file))
        {
            writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "../../etc/cron.d/evil")
            {
                DataStream = new MemoryStream("* * * * * root id\n"u8.ToArray()),
            });
        }

        var import = await RunnerVerb("image", "import", tar, "--tag", "hostile").ExecuteBufferedAsync(ct);
        var run = await RunnerVerb("run", "hostile", "true").ExecuteBufferedAsync(ct);

        Assert.That(import.ExitCode, Is.EqualTo(2));
        Assert.That(import.StandardError, Is.EqualTo("runner: cannot import hostile.tar: layer entry '../../etc/cron.d/evil' refused: its path leaves the layer\n"));
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StandardError, Does.Contain("runner: cannot pull docker.io/library/hostile:latest: docker.io:"), "not in the store, so run tries to pull it");
    }
}
