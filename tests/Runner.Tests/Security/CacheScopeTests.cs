namespace Ci.Runner.Tests.Security;

/// <summary>
/// Issue 10, item 9: caches are scoped by repository and branch, as GitHub Actions scopes them. A
/// repository never restores what another wrote; a pull request never writes what the default
/// branch restores; a branch reads the default branch's caches. Real runs, as root.
/// </summary>
[Category("Security")]
public sealed class CacheScopeTests : ExecFixture
{
    private const string Pipeline = """
        jobs:
          build:
            cache: { key: shared, paths: [/root/.cache] }
            steps:
              - run: if [ -e /root/.cache/tool.sh ]; then sh /root/.cache/tool.sh; else echo "no tool"; fi; echo "echo tool from $WHO" > /root/.cache/tool.sh
                env: { WHO: "${{ WHO }}" }
        """;

    [Test, CancelAfter(300_000)]
    public async Task Another_repositorys_cache_and_a_pull_requests_cache_are_never_restored(CancellationToken ct)
    {
        var victim = await RepositoryAsync(Pipeline);
        var attacker = await RepositoryAsync(Pipeline);
        var state = NewState("scopes");

        var poisoned = await ExecInAsync(state, attacker, "--var", "WHO=attacker");
        var first = await ExecInAsync(state, victim, "--var", "WHO=main");
        var pullRequest = await ExecInAsync(state, victim, "--event", "pull_request", "--branch", "main", "--var", "WHO=pull-request");
        var main = await ExecInAsync(state, victim, "--var", "WHO=main-again");
        var feature = await ExecInAsync(state, victim, "--branch", "feature", "--var", "WHO=feature");
        var mainAfterFeature = await ExecInAsync(state, victim, "--var", "WHO=main-third");

        foreach (var run in new[] { poisoned, first, pullRequest, main, feature, mainAfterFeature })
        {
            Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        }

        Assert.Multiple(() =>
        {
            Assert.That(first.StandardOutput, Does.Contain("[build:1] no tool"), "the other repository's cache is not restored");
            Assert.That(pullRequest.StandardOutput, Does.Contain("[build:1] tool from main"), "a pull request reads the default branch's cache");
            Assert.That(main.StandardOutput, Does.Contain("[build:1] tool from main"), "the pull request (from a branch named main) did not write main's cache");
            Assert.That(feature.StandardOutput, Does.Contain("[build:1] tool from main-again"), "a branch reads the default branch's cache");
            Assert.That(mainAfterFeature.StandardOutput, Does.Contain("[build:1] tool from main-again"), "a branch never writes the default branch's cache");
        });
    }
}
