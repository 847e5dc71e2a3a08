using CliWrap;
using CliWrap.Buffered;
using Ci.Runner.Tests.Cli;

namespace Ci.Runner.Tests.Examples;

/// <summary>
/// The example pipelines, run end to end as a user runs them, on stand-in images built from Debian's
/// packages (pipelines-examples/stand-ins/build.sh) under the names the examples use: this machine
/// cannot reach docker.io. The first run builds the stand-ins (a few minutes; kept a week in
/// /var/tmp), so these tests are their own category, which CI runs.
/// </summary>
[Category("Examples")]
public sealed class ExampleRunTests : ExecFixture
{
    private string _state = null!;

    [OneTimeSetUp]
    public async Task BuildStandInsAsync()
    {
        if (!File.Exists("/usr/bin/mmdebstrap") || !File.Exists("/usr/lib/cni/ptp"))
        {
            Assert.Ignore("needs mmdebstrap and containernetworking-plugins (.ci/run installs them)");
        }

        _state = NewState("examples");
        var build = await WithFixture(CliWrap.Cli.Wrap(Path.Combine(RunnerCli.RepositoryRoot, "pipelines-examples", "stand-ins", "build.sh"))
                .WithValidation(CommandResultValidation.None), _state, ("RUNNER", PublishedRunner.Binary))
            .ExecuteBufferedAsync();
        Assert.That(build.ExitCode, Is.EqualTo(0), build.StandardError + build.StandardOutput);
    }

    [Test, CancelAfter(600_000)]
    public async Task Node_service_passes_against_its_real_postgresql_service(CancellationToken ct)
    {
        var secrets = Path.Combine(Dir, "npm.env");
        await File.WriteAllTextAsync(secrets, "NPM_TOKEN=public-packages-need-none\n", ct);
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var run = await Runner(_state, "exec", "-C", Path.Combine(RunnerCli.RepositoryRoot, "pipelines-examples", "node-service"), "--worktree",
            "--secrets-file", secrets, "-j", "test");
        var service = await Runner(_state, "logs", "last", "test", "--service", "db");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardError, Does.Match(@"service db ready after \d"));
        Assert.That(run.StandardOutput, Does.Contain("[test:3] # pass 1"), "the test that adds a todo to PostgreSQL and lists it");
        Assert.That(service.StandardError, Does.Contain("database system is ready to accept connections"), "PostgreSQL's own log (stderr), kept with the run");
    }

    [Test, CancelAfter(600_000)]
    public async Task Dotnet_library_restores_builds_tests_and_packs_on_a_tag(CancellationToken ct)
    {
        var example = Path.Combine(RunnerCli.RepositoryRoot, "pipelines-examples", "dotnet-library");

        var run = await Runner(_state, "exec", "-C", example, "--worktree", "--event", "tag", "--tag", "v1.2.3");
        var packed = await Runner(_state, "artifacts", "last", "pack");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardOutput, Does.Contain("Passed!  - Failed:     0"), "the library's tests");
        Assert.That(packed.StandardOutput, Does.Contain("out/Slugs.1.2.3.nupkg"), packed.StandardError);
    }

    [Test, CancelAfter(300_000)]
    public async Task C_make_passes_on_the_built_in_image(CancellationToken ct)
    {
        var run = await Runner(_state, "exec", "-C", Path.Combine(RunnerCli.RepositoryRoot, "pipelines-examples", "c-make"), "--worktree");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
    }

    [Test, CancelAfter(300_000)]
    public async Task A_step_queries_a_real_postgresql_service_by_its_alias_after_pg_isready(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            image: docker.io/library/postgres:16-alpine
            jobs:
              query:
                services:
                  - image: docker.io/library/postgres:16-alpine
                    alias: db
                    env: { POSTGRES_PASSWORD: pw, POSTGRES_DB: shop }
                    readiness:
                      command: [pg_isready, -h, 127.0.0.1, -U, postgres]
                      interval: 300ms
                env: { PGPASSWORD: pw }
                steps:
                  - run: psql -h db -U postgres -d shop -tAc "create table t (n int); insert into t values (40), (2); select sum(n) from t"
            """);

        var run = await ExecInAsync(_state, repo);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardOutput, Does.Contain("[query:1] 42\n"));
    }
}
