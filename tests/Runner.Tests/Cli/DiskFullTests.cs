using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Cli;

/// <summary>A full disk: a clear error, and a store that is whole afterwards. The state directory is a small tmpfs (root).</summary>
[Category("Container")]
[NonParallelizable]
public sealed class DiskFullTests
{
    private string _dir = null!;
    private string _state = null!;

    [SetUp]
    public async Task SetUp()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("mounting a small tmpfs needs root (CI is root)");
        }

        _dir = Directory.CreateTempSubdirectory("diskfull-").FullName;
        _state = Directory.CreateDirectory(Path.Combine(_dir, "state")).FullName;
        await CliWrap.Cli.Wrap("mount").WithArguments(["-t", "tmpfs", "-o", "size=4m", "tmpfs", _state]).ExecuteAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await CliWrap.Cli.Wrap("umount").WithArguments([_state]).WithValidation(CommandResultValidation.None).ExecuteAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Test, CancelAfter(60_000)]
    public async Task An_import_that_fills_the_disk_says_so_keeps_nothing_half_written_and_the_next_import_works(CancellationToken ct)
    {
        var big = await TarballAsync("big", 8_000_000, ct);
        var small = await TarballAsync("small", 100_000, ct);

        var full = await RunnerAsync(ct, "image", "import", big, "--tag", "localhost/big");
        var entries = Directory.EnumerateFileSystemEntries(_state, "*", SearchOption.AllDirectories).Select(e => Path.GetRelativePath(_state, e)).ToList();
        var fine = await RunnerAsync(ct, "image", "import", small, "--tag", "localhost/small");
        var list = await RunnerAsync(ct, "image", "ls");

        Assert.That(full.ExitCode, Is.EqualTo(3));
        // The call that failed and the file it wrote (the unpacking's own write, or .NET's), then what the runner did about it.
        Assert.That(full.StandardError, Does.StartWith("runner: the disk is full (").And.Contain("no space left on").IgnoreCase.And.Contain("nothing half-written was kept"));
        Assert.That(full.StandardError, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(entries.Where(e => e.Contains(".tmp", StringComparison.Ordinal) || e.StartsWith("i/", StringComparison.Ordinal) || e.StartsWith("l/", StringComparison.Ordinal)), Is.Empty,
            "no temporary file, no layer and no image record is left");
        Assert.That(fine.ExitCode, Is.EqualTo(0), fine.StandardError);
        Assert.That(list.StandardOutput, Does.Contain("localhost/small").And.Not.Contain("localhost/big"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_disk_too_full_for_the_runners_own_native_parts_says_so_without_a_stack_trace(CancellationToken ct)
    {
        // Room for less than SQLite (about 1.5 MiB), which `runs` unpacks into the state directory on first use.
        await File.WriteAllBytesAsync(Path.Combine(_state, "filler"), new byte[3_500_000], ct);

        var runs = await RunnerAsync(ct, "runs");

        Assert.That(runs.ExitCode, Is.EqualTo(3));
        Assert.That(runs.StandardError, Does.StartWith("runner: the disk is full (No space left on device").And.Contain("libe_sqlite3.so"));
        Assert.That(runs.StandardError, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(Directory.GetFiles(Path.Combine(_state, "native"), "*", SearchOption.AllDirectories), Is.Empty, "nothing half-written is left");
    }

    [Test, CancelAfter(120_000)]
    public async Task A_step_that_fills_the_disk_ends_with_its_own_status_and_the_record_keeps_its_lines(CancellationToken ct)
    {
        var repo = Directory.CreateDirectory(Path.Combine(_dir, "repo")).FullName;
        await File.WriteAllTextAsync(Path.Combine(repo, ".runner.yml"), """
            jobs:
              fill:
                steps:
                  - run: echo before-the-fill; head -c 20m /dev/zero > /fill || echo "fill ended $?"; exit 3
            """, ct);
        foreach (var args in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "."], ["commit", "-q", "-m", "fill"] })
        {
            await CliWrap.Cli.Wrap("git").WithArguments(["-c", "user.email=t@example.org", "-c", "user.name=t", .. args]).WithWorkingDirectory(repo).ExecuteAsync(ct);
        }

        // Room for what the runner unpacks of itself on first use (runner-init, libgit2, SQLite: about 6 MiB); the step fills the rest.
        await CliWrap.Cli.Wrap("mount").WithArguments(["-o", "remount,size=16m", _state]).ExecuteAsync(ct);
        var run = await Cli.RunnerCli.Command(["exec", "-C", repo]).WithEnvironmentVariables(e => e.Set("RUNNER_STATE_DIR", _state).Set("RUNNER_STORE_LIMIT", "off"))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);
        var logs = await RunnerAsync(ct, "logs", "last");

        Assert.That(run.ExitCode, Is.EqualTo(1), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardOutput, Does.Contain("[fill:1] before-the-fill\n[fill:1] fill ended 1\n"));
        Assert.That(run.StandardOutput, Does.Match(@"FAILED\s+\S+\s+3\b"), "the step's own exit code, not 137: " + run.StandardOutput);
        Assert.That(run.StandardError, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(logs.StandardOutput, Does.Contain("[fill:1] before-the-fill\n[fill:1] fill ended 1\n"), "the record kept the lines written while the disk was full");
    }

    private async Task<string> TarballAsync(string name, int bytes, CancellationToken ct)
    {
        var source = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        await File.WriteAllBytesAsync(Path.Combine(source, "data"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes), ct);
        var tar = Path.Combine(_dir, name + ".tar");
        await CliWrap.Cli.Wrap("tar").WithArguments(["-C", source, "-cf", tar, "."]).ExecuteAsync(ct);
        return tar;
    }

    private Task<BufferedCommandResult> RunnerAsync(CancellationToken ct, params string[] args) => Cli.RunnerCli.Command(args)
        .WithEnvironmentVariables(e => e.Set("RUNNER_STATE_DIR", _state).Set("RUNNER_STORE_LIMIT", "off"))
        .ExecuteBufferedAsync(ct);
}
