using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests;

/// <summary>
/// The set-up of <c>runner exec</c> tests: real git repositories made by the tests, a state
/// directory and a parent cgroup of the fixture's own, the runner run as a process as a user would.
/// </summary>
[Category("Container")]
[NonParallelizable]
public abstract class ExecFixture
{
    protected string Dir { get; private set; } = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("runner exec needs root (CI is root)");
        }

        Dir = Directory.CreateTempSubdirectory("exec-").FullName;
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (Dir is not null)
        {
            // The test's own parent cgroups, empty once its containers are gone.
            foreach (var parent in Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, CgroupParent)).Where(Directory.Exists))
            {
                Directory.Delete(parent);
            }

            Directory.Delete(Dir, true);
        }
    }

    protected string CgroupParent => "runner-test-" + Path.GetFileName(Dir).ToLowerInvariant();

    protected string NewState(string name) => Path.Combine(Dir, $"state-{name}-" + Guid.NewGuid().ToString("N")[..6]);

    /// <summary>The busybox test image, <c>localhost/box:1</c>, imported into <paramref name="state"/> (its tarball made once per fixture).</summary>
    protected async Task ImportBusyboxAsync(string state)
    {
        var tar = Path.Combine(Dir, "box.tar");
        if (!File.Exists(tar))
        {
            var rootfs = Path.Combine(Dir, "box");
            await Ci.Tests.Shared.BusyboxRoot.CreateAsync(rootfs, "tmp");
            await CliWrap.Cli.Wrap("tar").WithArguments(["-C", rootfs, "-cf", tar, "."]).ExecuteAsync();
        }

        var import = await Runner(state, "image", "import", tar, "--tag", BusyboxImage);
        Assert.That(import.ExitCode, Is.EqualTo(0), import.StandardError);
    }

    protected const string BusyboxImage = "localhost/box:1";

    protected async Task<string> RepositoryAsync(string pipeline, params (string Path, string Content)[] files)
    {
        var repo = Directory.CreateDirectory(Path.Combine(Dir, "repo-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        await File.WriteAllTextAsync(Path.Combine(repo, ".runner.yml"), pipeline);
        foreach (var (path, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(repo, path))!);
            await File.WriteAllTextAsync(Path.Combine(repo, path), content);
        }

        await GitAsync(repo, "init", "-q", "-b", "main");
        await GitAsync(repo, "add", ".");
        await GitAsync(repo, "commit", "-q", "-m", "test");
        return repo;
    }

    protected static async Task CommitAsync(string repo, string path, string content)
    {
        await File.WriteAllTextAsync(Path.Combine(repo, path), content);
        await GitAsync(repo, "add", path);
        await GitAsync(repo, "commit", "-q", "-m", "change " + path);
    }

    /// <summary>Runs git in <paramref name="repo"/> as the tests' committer; returns what it printed, trimmed.</summary>
    protected static async Task<string> GitAsync(string repo, params string[] args) =>
        (await CliWrap.Cli.Wrap("git").WithArguments(["-c", "user.email=t@example.org", "-c", "user.name=t", .. args]).WithWorkingDirectory(repo)
            .ExecuteBufferedAsync()).StandardOutput.Trim();

    protected Task<BufferedCommandResult> ExecAsync(string repo, params string[] args) => ExecInAsync(Path.Combine(Dir, "state"), repo, args);

    protected Task<BufferedCommandResult> ExecInAsync(string state, string repo, params string[] args) => Runner(state, ["exec", "-C", repo, .. args]);

    /// <summary>The runner CLI (the published binary) with the fixture's state directory and cgroup parent, run to its end.</summary>
    protected Task<BufferedCommandResult> Runner(string state, params string[] args) => RunnerCommand(state, args).ExecuteBufferedAsync();

    /// <summary>The same command, not started: for tests that feed its stdin or follow its output.</summary>
    protected Command RunnerCommand(string state, params string[] args) => WithFixture(Cli.RunnerCli.Command(args), state);

    /// <summary>
    /// <paramref name="command"/> with the fixture's state directory, cgroup parent and the secret
    /// the tests mask, and <paramref name="extra"/> variables (one call: CliWrap's sets replace each other).
    /// </summary>
    protected Command WithFixture(Command command, string state, params (string Name, string Value)[] extra) => command
        .WithEnvironmentVariables(e =>
        {
            e.Set("RUNNER_STATE_DIR", state).Set("DEPLOY_TOKEN", "tok-3f9a-secret-value").Set("RUNNER_CGROUP_PARENT", CgroupParent);
            foreach (var (name, value) in extra)
            {
                e.Set(name, value);
            }
        });
}
