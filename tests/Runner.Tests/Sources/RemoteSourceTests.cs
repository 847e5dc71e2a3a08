using Ci.Runner.Sources;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Sources;

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
        var tagged = await GitAsync(origin, "rev-parse", "HEAD");
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
    public async Task A_run_that_waits_for_a_mirror_another_run_holds_is_stopped_by_its_token_and_the_next_run_fetches(CancellationToken ct)
    {
        var origin = await RepositoryAsync(Pipeline, ("version.txt", "v1\n"));
        var state = NewState("remote-wait");
        var sources = new GitSources(state, default);
        var request = new Ci.Runner.Engine.SourceRequest { Url = "file://" + origin };
        (await sources.PrepareAsync(request, ct)).Dispose();
        var lockPath = Directory.GetFiles(Path.Combine(state, "mirrors"), "*.lock").Single();
        await CommitAsync(origin, "version.txt", "v2\n");

        Exception? stopped;
        using (await Ci.Isolation.Files.FileLock.AcquireAsync(lockPath, "the mirror, held as another run's fetch would", cancellationToken: ct))
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var waiting = sources.PrepareAsync(request, stop.Token);
            await Task.Delay(300, ct);
            Assert.That(waiting.IsCompleted, Is.False, "the run waits while another holds the mirror");
            await stop.CancelAsync();
            stopped = await CatchAsync(waiting);
        }

        using var next = await sources.PrepareAsync(request, ct);
        using var read = new StreamReader(next.Tree.OpenRead("version.txt"));

        Assert.That(stopped, Is.InstanceOf<OperationCanceledException>());
        Assert.That(await read.ReadToEndAsync(ct), Is.EqualTo("v2\n"), "the next run fetched the new commit");
    }

    private static async Task<Exception?> CatchAsync(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task With_submodules_nested_ones_come_from_local_checkouts_or_from_mirrors_of_their_own(CancellationToken ct)
    {
        var deep = await RepositoryAsync("jobs: {}\n", ("deep.txt", "deep v1\n"));
        var lib = await RepositoryAsync("jobs: {}\n", ("lib.txt", "lib v1\n"));
        await GitAsync(lib, "-c", "protocol.file.allow=always", "submodule", "add", "-q", $"../{Path.GetFileName(deep)}", "deep");
        await GitAsync(lib, "commit", "-qm", "add deep");
        var app = await RepositoryAsync("""
            jobs:
              show:
                steps: ["cat vendor/lib/lib.txt vendor/lib/deep/deep.txt 2>/dev/null || true; ls vendor/lib | wc -l"]
            """);
        await GitAsync(app, "-c", "protocol.file.allow=always", "submodule", "add", "-q", $"../{Path.GetFileName(lib)}", "vendor/lib");
        await GitAsync(app, "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init", "--recursive");
        await GitAsync(app, "commit", "-qm", "add lib");
        var state = NewState("submodules");

        var remote = await ExecInAsync(state, Dir, "--url", "file://" + app, "--submodules");
        var local = await ExecInAsync(state, app, "--submodules");
        var without = await ExecInAsync(state, app);

        Assert.That(remote.ExitCode, Is.EqualTo(0), remote.StandardError);
        Assert.That(remote.StandardOutput, Does.Contain("[show:1] lib v1\n[show:1] deep v1\n[show:1] 2\n"), "both levels, each from its own mirror (relative URLs resolved)");
        Assert.That(Directory.GetDirectories(Path.Combine(state, "mirrors")), Has.Length.EqualTo(3));
        Assert.That(local.StandardOutput, Does.Contain("[show:1] lib v1\n[show:1] deep v1\n"), "from the local submodule checkouts");
        Assert.That(without.StandardOutput, Does.Contain("[show:1] 0\n"), "without --submodules a submodule is an empty directory, as git leaves it");
    }

    [TestCase("file:///srv/git/app.git", "../lib.git", "file:///srv/git/lib.git")]
    [TestCase("https://git.example.org/team/app", "../../other/lib", "https://git.example.org/other/lib")]
    [TestCase("https://git.example.org/team/app/", "./sub", "https://git.example.org/team/app/sub")]
    [TestCase("https://git.example.org/team/app", "https://elsewhere.example/lib.git", "https://elsewhere.example/lib.git")]
    public void Relative_submodule_urls_resolve_as_git_resolves_them(string parent, string url, string resolved) =>
        Assert.That(GitModules.Resolve(parent, url), Is.EqualTo(resolved));

    [Test, CancelAfter(60_000)]
    public async Task An_unreachable_remote_is_a_clear_error_and_leaves_no_half_mirror(CancellationToken ct)
    {
        var state = NewState("unreachable");

        var result = await ExecInAsync(state, Dir, "--url", "file:///nonexistent/repository");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.StartWith("runner: cannot fetch file:///nonexistent/repository: "));
        Assert.That(Directory.GetDirectories(Path.Combine(state, "mirrors")), Is.Empty);
    }

    [Test, CancelAfter(180_000)]
    public async Task Over_http_a_shallow_mirror_holds_only_the_last_commits_and_later_fetches_add_only_what_is_new(CancellationToken ct)
    {
        var origin = await RepositoryAsync(Pipeline, ("version.txt", "v1\n"));
        var first = await GitAsync(origin, "rev-parse", "HEAD");
        foreach (var v in (string[])["v2", "v3", "v4", "v5"])
        {
            await CommitAsync(origin, "version.txt", v + "\n");
        }

        await using var server = GitHttpServer.Start(Dir);
        var url = server.BaseUrl + Path.GetFileName(origin);
        var state = NewState("shallow");

        var shallow = await ExecInAsync(state, Dir, "--url", url, "--depth", "2");
        var mirror = Directory.GetDirectories(Path.Combine(state, "mirrors")).Single();
        var countAfterClone = await GitAsync(mirror, "rev-list", "--count", "main");
        await CommitAsync(origin, "version.txt", "v6\n");
        var fetched = await ExecInAsync(state, Dir, "--url", url);
        var countAfterFetch = await GitAsync(mirror, "rev-list", "--count", "main");
        var old = await ExecInAsync(state, Dir, "--url", url, "--ref", first);
        var local = await ExecInAsync(NewState("shallow-file"), Dir, "--url", "file://" + origin, "--depth", "1");
        var noUrl = await ExecInAsync(state, origin, "--depth", "1");

        Assert.That(shallow.ExitCode, Is.EqualTo(0), shallow.StandardError);
        Assert.That(shallow.StandardOutput, Does.Contain("[show:1] v5\n"));
        Assert.That(File.Exists(Path.Combine(mirror, "shallow")), Is.True, "git's own mark of a shallow repository");
        Assert.That(countAfterClone, Is.EqualTo("2"), "only the last two commits were fetched");
        Assert.That(fetched.StandardOutput, Does.Contain("[show:1] v6\n"));
        Assert.That(countAfterFetch, Is.EqualTo("3"), "the fetch added the new commit, not the whole history");
        Assert.That(old.ExitCode, Is.EqualTo(2));
        Assert.That(old.StandardError, Does.Contain($"has no branch, tag or commit '{first}' (its mirror is shallow, made with --depth"));
        Assert.That((local.ExitCode, local.StandardError.Trim()), Is.EqualTo((2, $"runner: --depth needs an http(s) or ssh remote; file://{origin} is read from the file system, whole (there is nothing to download)")));
        Assert.That((noUrl.ExitCode, noUrl.StandardError.Trim()), Is.EqualTo((2, "runner: --depth makes a shallow mirror of a remote; it goes with --url")));
    }

    [Test, CancelAfter(180_000)]
    public async Task Credentials_come_from_the_environment_or_a_git_credential_helper_and_are_never_printed(CancellationToken ct)
    {
        const string password = "tok-7c1e-http-secret";
        var origin = await RepositoryAsync(Pipeline, ("version.txt", "private v1\n"));
        await using var server = GitHttpServer.Start(Dir, ("ci", password));
        var url = server.BaseUrl + Path.GetFileName(origin);
        var home = Directory.CreateDirectory(Path.Combine(Dir, "home-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var store = Path.Combine(home, "git-credentials");
        Command Exec(string state, string homeDirectory, params (string Name, string Value)[] env) =>
            WithFixture(Cli.RunnerCli.Command(["exec", "-C", Dir, "--url", url]), state, [("HOME", homeDirectory), ("GIT_CONFIG_NOSYSTEM", "1"), .. env]);

        var none = await Exec(NewState("auth-none"), home).ExecuteBufferedAsync(ct);
        var refusedWithout = server.Refused;
        var fromEnvironment = await Exec(NewState("auth-env"), home, ("RUNNER_GIT_USERNAME", "ci"), ("RUNNER_GIT_PASSWORD", password)).ExecuteBufferedAsync(ct);
        await File.WriteAllTextAsync(Path.Combine(home, ".gitconfig"), $"[credential]\n\thelper = store --file={store}\n", ct);
        await File.WriteAllTextAsync(store, $"{new Uri(server.BaseUrl).Scheme}://ci:{password}@{new Uri(server.BaseUrl).Authority}\n", ct);
        var helperState = NewState("auth-helper");
        var fromHelper = await Exec(helperState, home).ExecuteBufferedAsync(ct);
        var runs = await Runner(helperState, "runs");

        Assert.That(none.ExitCode, Is.EqualTo(2));
        Assert.That(none.StandardError, Does.StartWith($"runner: cannot fetch {url}: ").And.Contain("a git credential helper that knows this URL"));
        Assert.That(refusedWithout, Is.GreaterThan(0), "the server asked for credentials");
        Assert.That(fromEnvironment.ExitCode, Is.EqualTo(0), fromEnvironment.StandardError);
        Assert.That(fromEnvironment.StandardOutput, Does.Contain("[show:1] private v1\n"));
        Assert.That(fromHelper.ExitCode, Is.EqualTo(0), fromHelper.StandardError);
        Assert.That(fromHelper.StandardOutput, Does.Contain("[show:1] private v1\n"));
        foreach (var text in (string[])[none.StandardOutput, none.StandardError, fromEnvironment.StandardOutput, fromEnvironment.StandardError,
                     fromHelper.StandardOutput, fromHelper.StandardError, runs.StandardOutput])
        {
            Assert.That(text, Does.Not.Contain(password));
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task Over_https_the_servers_certificate_must_be_trusted_and_credentials_go_over_tls(CancellationToken ct)
    {
        const string password = "tok-9d2f-https-secret";
        var origin = await RepositoryAsync(Pipeline, ("version.txt", "over tls\n"));
        var certificate = Path.Combine(Dir, "tls-" + Guid.NewGuid().ToString("N")[..6] + ".pem");
        await using var server = GitHttpServer.Start(Dir, ("ci", password), certificate);
        var url = server.BaseUrl + Path.GetFileName(origin);
        // SSL_CERT_FILE is OpenSSL's trust store, as a corporate CA bundle would be.
        Command Exec(string state, bool trusted) => WithFixture(Cli.RunnerCli.Command(["exec", "-C", Dir, "--url", url]), state,
            [("RUNNER_GIT_USERNAME", "ci"), ("RUNNER_GIT_PASSWORD", password), .. trusted ? [("SSL_CERT_FILE", certificate)] : Array.Empty<(string, string)>()]);

        var untrusted = await Exec(NewState("tls-untrusted"), trusted: false).ExecuteBufferedAsync(ct);
        var trusted = await Exec(NewState("tls"), trusted: true).ExecuteBufferedAsync(ct);

        Assert.That(url, Does.StartWith("https://"));
        Assert.That(untrusted.ExitCode, Is.EqualTo(2));
        Assert.That(untrusted.StandardError, Does.StartWith($"runner: cannot fetch {url}: ").And.Contain("certificate is not trusted here").And.Contain("SSL_CERT_FILE"));
        Assert.That(trusted.ExitCode, Is.EqualTo(0), trusted.StandardError);
        Assert.That(trusted.StandardOutput, Does.Contain("[show:1] over tls\n"));
        Assert.That(untrusted.StandardError + trusted.StandardOutput + trusted.StandardError, Does.Not.Contain(password));
    }

    [TestCase("https://bob:s3cret@git.example.org/team/app.git", "https://git.example.org/team/app.git")]
    [TestCase("https://oauth2:tok-123@git.example.org/app", "https://git.example.org/app")]
    [TestCase("https://git.example.org/app", "https://git.example.org/app")]
    [TestCase("file:///srv/git/app", "file:///srv/git/app")]
    public void Credentials_in_a_url_are_never_shown(string url, string shown) =>
        Assert.That(RemoteSource.Display(url), Is.EqualTo(shown));

}
