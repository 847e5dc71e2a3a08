using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Images;

/// <summary>Images saved as OCI layouts, OCI archives and docker archives import and run; skopeo makes the archives.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class ArchiveImportTests
{
    private ContainerHost _host = null!;
    private ImageStore _store = null!;
    private string _layout = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _host = await ContainerHost.CreateAsync();
        _store = new ImageStore(_host.StateDirectory, new LayerStore(_host.StateDirectory));
        _layout = await WriteOciLayoutAsync(Path.Combine(_host.Directory, "layout"));
    }

    [OneTimeTearDown]
    public void TearDown() => _host?.Dispose();

    /// <summary>An OCI layout written by hand: the busybox root (gzip) and a layer that adds /data/hello and deletes /bin/ls.</summary>
    private async Task<string> WriteOciLayoutAsync(string dir)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256")).FullName;
        string Put(byte[] bytes)
        {
            var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
            return "sha256:" + hex;
        }

        var rootTar = Path.Combine(_host.Directory, "oci-root.tar");
        await Cli.Wrap("tar").WithArguments(["-C", _host.Rootfs, "-cf", rootTar, "."]).ExecuteAsync();
        var rootBytes = await File.ReadAllBytesAsync(rootTar);
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(rootBytes);
        }

        var topBytes = await File.ReadAllBytesAsync(new LayerTar().Dir("data/").File("data/hello", "hello from the top layer\n").Whiteout("bin/ls").WriteTo(Path.Combine(_host.Directory, "oci-top.tar")));
        var layers = new JsonArray(
            new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = Put(gz.ToArray()), ["size"] = gz.Length },
            new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar", ["digest"] = Put(topBytes), ["size"] = topBytes.Length });
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/bin", "GREETING=hi"),
                ["Cmd"] = new JsonArray("/bin/sh", "-c", "echo $GREETING from $(pwd); cat hello; ls /bin/ls 2>/dev/null || echo ls-deleted"),
                ["WorkingDir"] = "/data",
            },
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray("sha256:" + Convert.ToHexStringLower(SHA256.HashData(rootBytes)), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(topBytes))),
            },
        }.ToJsonString());
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Put(config), ["size"] = config.Length },
            ["layers"] = layers,
        }.ToJsonString());
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = Put(manifest),
                ["size"] = manifest.Length,
                ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = "v1" },
            }),
        };
        await File.WriteAllTextAsync(Path.Combine(dir, "index.json"), index.ToJsonString());
        await File.WriteAllTextAsync(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        return dir;
    }

    private async Task<Run> RunImageAsync(Image image, CancellationToken ct) =>
        await _host.RunAsync(_host.Spec([.. image.Config.Cmd!]) with
        {
            Layers = _store.LayerPaths(image),
            Env = image.Config.Env.Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p[1]),
            WorkingDirectory = image.Config.WorkingDir ?? "/",
        }, ct);

    private static readonly string[] Expected = ["hi from /data", "hello from the top layer", "ls-deleted"];

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

        var archive = Path.Combine(_host.Directory, $"{transport}.tar");
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
        var copy = Path.Combine(_host.Directory, "tampered");
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
}
