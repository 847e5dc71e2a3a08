using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Registry;

/// <summary>Pushes to a real registry; skopeo (the peer tool) pulls what we pushed and checks every digest.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class PushTests : RegistryFixture
{
    private ImageStore _store = null!;
    private Image _image = null!;

    [OneTimeSetUp]
    public async Task ImportTestImage()
    {
        _store = new ImageStore(Host.StateDirectory, new LayerStore(Host.StateDirectory));
        var layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
        _image = ArchiveImporter.Import(layout, ImageReference.Parse("local/app:v1"), _store);
    }

    private async Task<BufferedCommandResult> SkopeoPullAsync(string name, string into) =>
        await Cli.Wrap("skopeo").WithArguments(["copy", "--quiet", "--src-tls-verify=false", $"docker://{Registry.Address}/{name}", $"oci:{into}:pulled"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

    [Test, CancelAfter(120_000)]
    public async Task An_image_we_push_is_pulled_intact_by_skopeo_and_runs(CancellationToken ct)
    {
        var events = new List<PullProgress>();
        await new ImagePusher(Client(), _store).PushAsync(_image, Ref("ours/app:v1"), events.Add, ct);
        var copy = Path.Combine(Host.Directory, "skopeo-pulled");

        var pulled = await SkopeoPullAsync("ours/app:v1", copy);
        var reimported = ArchiveImporter.Import(copy, ImageReference.Parse("roundtrip/app:v1"), _store);
        var run = await TestImages.RunAsync(Host, _store, reimported, ct);

        Assert.That(pulled.ExitCode, Is.EqualTo(0), pulled.StandardError);
        Assert.That(events.Select(e => e.State), Is.EqualTo(new[] { "uploaded", "uploaded", "uploaded" }));
        Assert.That(reimported.Layers, Is.EqualTo(_image.Layers));
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_second_push_uploads_nothing_and_a_push_to_another_repository_mounts_the_blobs(CancellationToken ct)
    {
        await new ImagePusher(Client(), _store).PushAsync(_image, Ref("ours/base:v1"), cancellationToken: ct);
        var again = new List<PullProgress>();
        await new ImagePusher(Client(), _store).PushAsync(_image, Ref("ours/base:v2"), again.Add, ct);

        // An image pulled from ours/base and pushed to ours/derived: the registry mounts what it has.
        var (store, state) = NewStore();
        var pulled = await Puller(Client(), store, state).PullAsync(Ref("ours/base:v1"), cancellationToken: ct);
        var mounted = new List<PullProgress>();
        await new ImagePusher(Client(), store).PushAsync(pulled, Ref("ours/derived:v1"), mounted.Add, ct);

        Assert.That(again.Select(e => e.State), Is.All.EqualTo("exists"));
        Assert.That(mounted.Select(e => e.State), Is.All.EqualTo("mounted"));
        Assert.That((await SkopeoPullAsync("ours/derived:v1", Path.Combine(Host.Directory, "derived"))).ExitCode, Is.EqualTo(0));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_layer_larger_than_a_chunk_is_uploaded_in_chunks(CancellationToken ct)
    {
        var big = Path.Combine(Host.Directory, "big.bin");
        var random = new byte[(int)RegistryClient.ChunkSize * 2 + 12345];
        Random.Shared.NextBytes(random);
        await File.WriteAllBytesAsync(big, random, ct);
        var tar = Path.Combine(Host.Directory, "big-rootfs.tar");
        await Cli.Wrap("tar").WithArguments(["-C", Host.Directory, "-cf", tar, "big.bin"]).ExecuteAsync(ct);
        var image = _store.ImportRootfs(tar, ImageReference.Parse("local/big:v1"));

        await new ImagePusher(Client(), _store).PushAsync(image, Ref("ours/big:v1"), cancellationToken: ct);
        var pulled = await SkopeoPullAsync("ours/big:v1", Path.Combine(Host.Directory, "big-pulled"));

        Assert.That(pulled.ExitCode, Is.EqualTo(0), pulled.StandardError);
    }
}
