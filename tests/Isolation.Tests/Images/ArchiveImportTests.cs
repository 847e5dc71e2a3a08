using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Images;

/// <summary>Images saved as OCI layouts, OCI archives and docker archives import and run; skopeo makes the archives.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class ArchiveImportTests : ContainerFixture
{
    private ImageStore _store = null!;
    private string _layout = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _store = new ImageStore(Host.StateDirectory, new LayerStore(Host.StateDirectory));
        _layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
    }

    private Task<Run> RunImageAsync(Image image, CancellationToken ct) => TestImages.RunAsync(Host, _store, image, ct);

    private static readonly string[] Expected = TestImages.ExpectedOutput;

    [Test, CancelAfter(60_000)]
    public async Task An_oci_layout_directory_imports_and_runs_with_its_config(CancellationToken ct)
    {
        var image = ArchiveImporter.Import(_layout, ImageReference.Parse("layout/app:1"), _store);

        var run = await RunImageAsync(image, ct);

        Assert.That(image.Layers, Has.Count.EqualTo(2));
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(Expected), run.ToString());
    }

    [TestCase("docker-archive", "docker.io/library/saved:2")]
    [TestCase("oci-archive", null)]
    public async Task An_archive_made_by_skopeo_imports_and_runs(string transport, string? expectedName)
    {
        if (!File.Exists("/usr/bin/skopeo"))
        {
            Assert.Ignore("skopeo is not installed; .ci/run installs it");
        }

        var archive = Path.Combine(Host.Directory, $"{transport}.tar");
        File.Delete(archive);
        var destination = transport == "docker-archive" ? $"docker-archive:{archive}:saved:2" : $"oci-archive:{archive}:v1";
        var copy = await Cli.Wrap("skopeo").WithArguments(["copy", "--quiet", $"oci:{_layout}:v1", destination])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        Assert.That(copy.ExitCode, Is.EqualTo(0), copy.StandardError);

        Assert.That(ArchiveImporter.IsImageArchive(archive), Is.True);
        var image = ArchiveImporter.Import(archive, expectedName is null ? ImageReference.Parse("from/oci-archive") : null, _store);
        var run = await RunImageAsync(image, CancellationToken.None);

        Assert.That(image.Name, Is.EqualTo(expectedName ?? "docker.io/from/oci-archive:latest"));
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(Expected), run.ToString());
    }

    [Test]
    public void A_tampered_blob_is_refused_and_no_image_is_recorded()
    {
        var copy = Path.Combine(Host.Directory, "tampered");
        CopyDirectory(_layout, copy);
        var blobs = Path.Combine(copy, "blobs", "sha256");
        var biggest = Directory.GetFiles(blobs).OrderByDescending(f => new FileInfo(f).Length).First();
        using (var stream = File.OpenWrite(biggest))
        {
            stream.Seek(100, SeekOrigin.Begin);
            stream.WriteByte(0x42);
        }

        var ex = Assert.Throws<IsolationException>(() => ArchiveImporter.Import(copy, ImageReference.Parse("tampered"), _store));

        Assert.That(ex!.Message, Does.Contain("is corrupt"));
        Assert.That(_store.Find(ImageReference.Parse("tampered")), Is.Null);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task An_exported_archive_imports_again_and_skopeo_reads_it_as_a_docker_archive(CancellationToken ct)
    {
        var image = ArchiveImporter.Import(_layout, ImageReference.Parse("export/app:1"), _store);
        var archive = Path.Combine(Host.Directory, "exported.tar");

        ArchiveExporter.Export(image, _store, archive);
        var reimported = ArchiveImporter.Import(archive, ImageReference.Parse("export/again:1"), _store);
        var run = await RunImageAsync(reimported, ct);

        Assert.That(reimported.Layers, Is.EqualTo(image.Layers));
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(Expected));
        if (File.Exists("/usr/bin/skopeo"))
        {
            var inspect = await Cli.Wrap("skopeo").WithArguments(["inspect", "--format", "{{len .Layers}}", $"docker-archive:{archive}"])
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);
            Assert.That(inspect.StandardOutput.Trim(), Is.EqualTo("2"), inspect.StandardError);
        }
    }
}
