using CliWrap;
using Ci.Runner.Execution;

namespace Ci.Runner.Tests.Execution;

/// <summary><c>runner exec --url</c>: a real remote repository (file://), mirrored once and fetched into.</summary>
public sealed class RemoteSourceTests : ExecFixture
{
    private const string Pipeline = """
        jobs:
          show:
            steps: ["cat version.txt"]
        """;

    [Test, CancelAfter(180_000)]
    public async Task A_branch_a_tag_or_a_commit_of_a_remote_runs_and_the_mirror_is_fetched_into_not_cloned_again(CancellationToken ct)
    {
        var origin = await RepositoryAsync(Pipeline, ("version.txt", "main v1\n"));
        await GitAsync(origin, "tag", "v1");
        var tagged = (await GitOutputAsync(origin, "rev-parse", "HEAD")).Trim();
        await GitAsync(origin, "checkout", "-q", "-b", "feature");
        await CommitAsync(origin, "version.txt", "feature\n");
        await GitAsync(origin, "checkout", "-q", "main");
        await CommitAsync(origin, "version.txt", "main v2\n");
        var state = NewState("remote");
        var url = "file://" + origin;

        var byDefault = await ExecInAsync(state, Dir, "--url", url);
        var mirror = Directory.GetDirectories(Path.Combine(state, "mirrors")).Single();
        await File.WriteAllTextAsync(Path.Combine(mirror, "marker"), "still the first mirror", ct);
        var feature = await ExecInAsync(state, Dir, "--url", url, "--ref", "feature");
        var tag = await ExecInAsync(state, Dir, "--url", url, "--ref", "v1");
        var commit = await ExecInAsync(state, Dir, "--url", url, "--ref", tagged[..10]);
        await CommitAsync(origin, "version.txt", "main v3\n");
        var afterPush = await ExecInAsync(state, Dir, "--url", url);
        var missing = await ExecInAsync(state, Dir, "--url", url, "--ref", "no-such-branch");

        Assert.That(byDefault.ExitCode, Is.EqualTo(0), byDefault.StandardError);
        Assert.That(byDefault.StandardOutput, Does.Contain("[show:1] main v2\n"), "the remote's default branch");
        Assert.That(feature.StandardOutput, Does.Contain("[show:1] feature\n"));
        Assert.That(tag.StandardOutput, Does.Contain("[show:1] main v1\n"));
        Assert.That(commit.StandardOutput, Does.Contain("[show:1] main v1\n"));
        Assert.That(afterPush.StandardOutput, Does.Contain("[show:1] main v3\n"), "a new commit on the remote is fetched");
        Assert.That(File.Exists(Path.Combine(mirror, "marker")), Is.True, "the mirror was fetched into, not cloned again");
        Assert.That(Directory.GetDirectories(Path.Combine(state, "mirrors")), Has.Length.EqualTo(1));
        Assert.That((missing.ExitCode, missing.StandardError.Trim()), Is.EqualTo((2, $"runner: {url} has no branch, tag or commit 'no-such-branch'")));
        var runs = await Runner(state, "runs");
        Assert.That(runs.StandardOutput, Does.Contain(url), "the run record names the remote");
    }

    [Test, CancelAfter(60_000)]
    public async Task An_unreachable_remote_is_a_clear_error_and_leaves_no_half_mirror(CancellationToken ct)
    {
        var state = NewState("unreachable");

        var result = await ExecInAsync(state, Dir, "--url", "file:///nonexistent/repository");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.StartWith("runner: cannot fetch file:///nonexistent/repository: "));
        Assert.That(Directory.GetDirectories(Path.Combine(state, "mirrors")), Is.Empty);
    }

    [TestCase("https://bob:s3cret@git.example.org/team/app.git", "https://git.example.org/team/app.git")]
    [TestCase("https://oauth2:tok-123@git.example.org/app", "https://git.example.org/app")]
    [TestCase("https://git.example.org/app", "https://git.example.org/app")]
    [TestCase("file:///srv/git/app", "file:///srv/git/app")]
    public void Credentials_in_a_url_are_never_shown(string url, string shown) =>
        Assert.That(RemoteSource.Display(url), Is.EqualTo(shown));

    private static Task GitAsync(string repo, params string[] args) =>
        CliWrap.Cli.Wrap("git").WithArguments(["-c", "user.email=t@example.org", "-c", "user.name=t", .. args]).WithWorkingDirectory(repo).ExecuteAsync();

    private static async Task<string> GitOutputAsync(string repo, params string[] args) =>
        (await CliWrap.Buffered.BufferedCommandExtensions.ExecuteBufferedAsync(CliWrap.Cli.Wrap("git").WithArguments(args).WithWorkingDirectory(repo))).StandardOutput;
}
