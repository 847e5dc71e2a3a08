namespace Ci.Runner.Tests.Backends.Containers;

/// <summary>Job directory caches (<c>cache:</c>): mounted, kept only when the job succeeds, safe under concurrency.</summary>
public sealed class DirectoryCacheTests : ExecFixture
{
    private const string Pipeline = """
        jobs:
          build:
            cache:
              key: { prefix: "deps-", files: [deps.lock] }
              fallback_keys: ["deps-"]
              paths: [~/.tool-cache, /var/cache/extra]
            steps:
              - run: echo "home $(ls ~/.tool-cache | tr '\n' ' ')"; echo "extra $(ls /var/cache/extra | tr '\n' ' ')"
              - run: echo x > ~/.tool-cache/"run-$(cat run.txt)"; echo y > /var/cache/extra/"e-$(cat run.txt)"; test "$(cat run.txt)" != fail
        """;

    [Test, CancelAfter(300_000)]
    public async Task A_cache_is_restored_kept_only_after_success_and_found_by_fallback_prefix(CancellationToken ct)
    {
        var repo = await RepositoryAsync(Pipeline, ("deps.lock", "v1\n"), ("run.txt", "one\n"));
        var state = NewState("dircache");

        var first = await ExecInAsync(state, repo);
        await CommitAsync(repo, "run.txt", "fail\n");
        var failed = await ExecInAsync(state, repo);
        await CommitAsync(repo, "run.txt", "two\n");
        var third = await ExecInAsync(state, repo);
        await CommitAsync(repo, "deps.lock", "v2\n");
        await CommitAsync(repo, "run.txt", "three\n");
        var newKey = await ExecInAsync(state, repo);

        Assert.That(first.ExitCode, Is.EqualTo(0), first.StandardError + first.StandardOutput);
        Assert.That(first.StandardError, Does.Contain("cache 'deps-").And.Contain("starts empty").And.Contain("saved"));
        Assert.That(first.StandardOutput, Does.Contain("[build:1] home \n[build:1] extra \n"));
        Assert.That(failed.ExitCode, Is.EqualTo(1));
        Assert.That(failed.StandardOutput, Does.Contain("[build:1] home run-one \n[build:1] extra e-one \n"));
        Assert.That(third.StandardOutput, Does.Contain("[build:1] home run-one \n[build:1] extra e-one \n"), "the failed job's writes were not kept");
        Assert.That(newKey.StandardError, Does.Match("cache 'deps-[^']+' restored from 'deps-"), "a new key starts from the newest under the fallback prefix");
        Assert.That(newKey.StandardOutput, Does.Contain("[build:1] home run-one run-two \n"));
    }

    [Test, CancelAfter(300_000)]
    public async Task Two_jobs_on_one_key_at_once_see_only_their_own_writes_and_leave_a_whole_version(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              a:
                cache: { key: shared, paths: [/cache] }
                steps:
                  - run: ls /cache; for i in 1 2 3 4 5; do echo a > /cache/a-$i; sleep 0.2; done; ls /cache
              b:
                cache: { key: shared, paths: [/cache] }
                steps:
                  - run: ls /cache; for i in 1 2 3 4 5; do echo b > /cache/b-$i; sleep 0.2; done; ls /cache
              after:
                needs: [a, b]
                cache: { key: shared, paths: [/cache], policy: pull }
                steps:
                  - run: ls /cache | tr '\n' ' '
            """);

        var result = await ExecInAsync(NewState("concurrent"), repo, "--jobs", "2");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError + result.StandardOutput);
        Assert.That(result.StandardOutput, Does.Not.Contain("[a:1] b-").And.Not.Contain("[b:1] a-"), "a job never sees another's unsaved writes");
        var after = result.StandardOutput.Split('\n').Single(l => l.StartsWith("[after:1]", StringComparison.Ordinal));
        Assert.That(after, Is.EqualTo("[after:1] a-1 a-2 a-3 a-4 a-5 ").Or.EqualTo("[after:1] b-1 b-2 b-3 b-4 b-5 "),
            "the last job to finish wins, with its whole version");
    }

    [Test, CancelAfter(600_000)]
    public async Task A_deep_stack_of_versions_is_flattened_and_unused_layers_are_removed(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              j:
                cache: { key: grow, paths: [/cache] }
                steps:
                  - run: n=$(ls /cache | wc -l); echo "had $n"; if [ $n = 3 ] && [ ! -e /cache/z-deleted ]; then rm "/cache/$(ls /cache | head -1)"; touch /cache/z-deleted; fi; echo x > /cache/f-$(date +%s%N)
            """);
        var state = NewState("flatten");

        var outputs = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var run = await ExecInAsync(state, repo);
            Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
            outputs.Add(run.StandardOutput.Split('\n').Single(l => l.StartsWith("[j:1] had", StringComparison.Ordinal)));
        }

        // Each run adds a file; the fourth also deletes one (a whiteout in its layer) and adds a marker; flattening after the ninth save must keep it deleted.
        Assert.That(outputs, Is.EqualTo(new[] { "[j:1] had 0", "[j:1] had 1", "[j:1] had 2", "[j:1] had 3", "[j:1] had 4", "[j:1] had 5", "[j:1] had 6", "[j:1] had 7", "[j:1] had 8", "[j:1] had 9" }));
        var layers = Directory.GetDirectories(Path.Combine(state, "dir-cache", "layers"));
        var manifest = File.ReadAllLines(Directory.GetFiles(Path.Combine(state, "dir-cache", "keys"), "grow", SearchOption.AllDirectories).Single()); // in the repository's scope
        Assert.That(manifest, Has.Length.LessThanOrEqualTo(8));
        Assert.That(layers.Select(Path.GetFileName), Is.EquivalentTo(manifest), "only the layers the key lists remain");
        Assert.That(Directory.GetFiles(Path.Combine(state, "dir-cache", "leases")), Is.Empty);
    }
}
