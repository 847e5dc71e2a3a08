using CliWrap;
using Ci.Isolation.Build;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Build;

/// <summary>Containerfile builds with our own runtime, and their layer cache.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class BuildTests : ContainerFixture
{
    private const string Containerfile = """
        # the Dockerfile habit: lock file first, install, then the sources
        FROM local/busybox
        ARG GREETING=hello
        ENV APP=/app
        WORKDIR $APP
        COPY lock.txt ./
        RUN echo "installing $(cat lock.txt)" && cat lock.txt > installed.txt && echo $GREETING > greeting.txt
        COPY src/ /app/src/
        RUN cat src/main.txt installed.txt greeting.txt > built.txt && rm lock.txt
        CMD ["cat", "/app/built.txt"]
        """;

    private ImageStore _store = null!;
    private string _context = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _store = new ImageStore(Host.StateDirectory, new LayerStore(Host.StateDirectory));
        var rootTar = Path.Combine(Host.Directory, "busybox-base.tar");
        await Cli.Wrap("tar").WithArguments(["-C", Host.Rootfs, "-cf", rootTar, "."]).ExecuteAsync();
        _store.ImportRootfs(rootTar, ImageReference.Parse("local/busybox"));
    }

    [SetUp]
    public void FreshContext()
    {
        _context = Directory.CreateDirectory(Path.Combine(Host.Directory, "ctx-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        Directory.CreateDirectory(Path.Combine(_context, "src"));
        File.WriteAllText(Path.Combine(_context, "lock.txt"), "deps-v1\n");
        File.WriteAllText(Path.Combine(_context, "src", "main.txt"), "main v1\n");
        File.WriteAllText(Path.Combine(_context, "Containerfile"), Containerfile);
    }

    private async Task<(Image Image, List<BuildStep> Steps)> BuildAsync(string tag, Dictionary<string, string>? args = null, CancellationToken ct = default)
    {
        var steps = new List<BuildStep>();
        var builder = new ImageBuilder(Host.Runtime, _store, r => throw new IsolationException($"no base {r}"), Host.StateDirectory);
        var image = await builder.BuildAsync(new BuildOptions(Path.Combine(_context, "Containerfile"), _context, ImageReference.Parse(tag))
        {
            BuildArgs = args ?? new Dictionary<string, string>(),
        }, steps.Add, cancellationToken: ct);
        return (image, steps);
    }

    private async Task<string> RunAsync(Image image, CancellationToken ct)
    {
        var run = await Host.RunAsync(Host.Spec([.. image.Config.Cmd!]) with { Layers = _store.LayerPaths(image) }, ct);
        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        return run.Stdout;
    }

    private static IEnumerable<bool> Cached(List<BuildStep> steps, string keyword) => steps.Where(s => s.Instruction.StartsWith(keyword, StringComparison.Ordinal)).Select(s => s.Cached);

    [Test, CancelAfter(120_000)]
    public async Task A_build_runs_each_step_in_a_container_and_the_image_runs(CancellationToken ct)
    {
        var (image, steps) = await BuildAsync("built/app:1", new() { ["GREETING"] = "hi" }, ct);

        Assert.That(await RunAsync(image, ct), Is.EqualTo("main v1\ndeps-v1\nhi"));
        Assert.That(image.Layers, Has.Count.EqualTo(5), "the base and one per COPY and RUN");
        Assert.That(image.Config.WorkingDir, Is.EqualTo("/app"));
        Assert.That(Cached(steps, "RUN").Concat(Cached(steps, "COPY")), Is.All.False);
    }

    [Test, CancelAfter(120_000)]
    public async Task A_run_steps_header_comes_before_its_output(CancellationToken ct)
    {
        var seen = new List<string>();
        var builder = new ImageBuilder(Host.Runtime, _store, r => throw new IsolationException($"no base {r}"), Host.StateDirectory);
        await builder.BuildAsync(new BuildOptions(Path.Combine(_context, "Containerfile"), _context, ImageReference.Parse("built/order:1")) { NoCache = true },
            step => seen.Add($"[{step.Index}] {step.Instruction}"), line => seen.Add(line.Text), ct);

        var header = seen.FindIndex(s => s.StartsWith("[6] RUN echo \"installing", StringComparison.Ordinal));
        Assert.That(header, Is.GreaterThanOrEqualTo(0), string.Join("\n", seen));
        Assert.That(seen.IndexOf("installing deps-v1"), Is.EqualTo(header + 1), string.Join("\n", seen));
    }

    [Test, CancelAfter(120_000)]
    public async Task An_unchanged_rebuild_comes_entirely_from_the_cache_and_gives_the_same_layers(CancellationToken ct)
    {
        var (first, _) = await BuildAsync("built/again:1", ct: ct);
        foreach (var file in Directory.GetFiles(_context, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(1)); // touched, not changed
        }

        var (second, steps) = await BuildAsync("built/again:2", ct: ct);

        Assert.That(steps.Select(s => s.Cached), Is.All.True, string.Join("\n", steps));
        Assert.That(second.Layers, Is.EqualTo(first.Layers));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_source_change_rebuilds_from_the_sources_while_the_install_step_stays_cached(CancellationToken ct)
    {
        await BuildAsync("built/src:1", ct: ct);
        await File.WriteAllTextAsync(Path.Combine(_context, "src", "main.txt"), "main v2\n", ct);

        var (image, steps) = await BuildAsync("built/src:2", ct: ct);

        Assert.That(Cached(steps, "COPY"), Is.EqualTo(new[] { true, false }));
        Assert.That(Cached(steps, "RUN"), Is.EqualTo(new[] { true, false }));
        Assert.That(await RunAsync(image, ct), Is.EqualTo("main v2\ndeps-v1\nhello"));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_lock_file_change_reruns_the_install(CancellationToken ct)
    {
        await BuildAsync("built/lock:1", ct: ct);
        await File.WriteAllTextAsync(Path.Combine(_context, "lock.txt"), "deps-v2\n", ct);

        var (image, steps) = await BuildAsync("built/lock:2", ct: ct);

        Assert.That(Cached(steps, "RUN"), Is.EqualTo(new[] { false, false }));
        Assert.That(await RunAsync(image, ct), Is.EqualTo("main v1\ndeps-v2\nhello"));
    }

    [Test, CancelAfter(60_000)]
    public void A_failing_run_names_the_line_and_the_exit_code(CancellationToken ct)
    {
        File.WriteAllText(Path.Combine(_context, "Containerfile"), "FROM local/busybox\n\nRUN echo about to fail && exit 3\n");

        var ex = Assert.ThrowsAsync<IsolationException>(() => BuildAsync("built/fail", ct: ct));

        Assert.That(ex!.Message, Is.EqualTo("Containerfile(3): RUN echo about to fail && exit 3 failed: exit code 3"));
    }

    [Test]
    public void A_misspelt_instruction_is_an_error_with_its_line()
    {
        var ex = Assert.Throws<IsolationException>(() => Ci.Isolation.Build.Containerfile.Parse("FROM x\nRUNN make\n", "Containerfile"));

        Assert.That(ex!.Message, Is.EqualTo("Containerfile(2): unknown instruction 'RUNN' (did you mean RUN?)"));
    }
}
