using System.Collections.Concurrent;
using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Registry;

/// <summary>Pulls from a real registry (docker-registry on loopback) into the store; images pushed by skopeo.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class PullTests : RegistryFixture
{
    private string _layout = null!;

    [OneTimeSetUp]
    public async Task PushTestImage()
    {
        _layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
        await Registry.PushAsync(_layout, "v1", "team/app:v1");
    }

    /// <summary>A fresh store per test, so each pull starts from nothing; retries come quickly.</summary>
    private (ImagePuller Puller, ImageStore Store, string State) Fresh()
    {
        var (store, state) = NewStore();
        return (Puller(Client(new RegistryOptions { FirstRetryDelay = TimeSpan.FromMilliseconds(10) }), store, state), store, state);
    }

    /// <summary>The layer digests of a pushed image as the registry serves them (skopeo may recompress on push), largest first.</summary>
    private async Task<List<(string Digest, long Size)>> RegistryLayersAsync(string repository, string tag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{Registry.Address}/v2/{repository}/manifests/{tag}");
        foreach (var type in RegistryClient.ManifestTypes)
        {
            request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await Http.SendAsync(request);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return manifest["layers"]!.AsArray().Select(l => ((string)l!["digest"]!, (long)l["size"]!)).OrderByDescending(l => l.Item2).ToList();
    }

    [Test, CancelAfter(60_000)]
    public async Task A_pulled_image_runs_with_its_layers_and_config(CancellationToken ct)
    {
        var (puller, store, _) = Fresh();

        var image = await puller.PullAsync(Ref("team/app:v1"), cancellationToken: ct);
        var run = await TestImages.RunAsync(Host, store, image, ct);

        Assert.That(image.Name, Is.EqualTo($"{Registry.Address}/team/app:v1"));
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput), run.ToString());
    }

    [Test, CancelAfter(60_000)]
    public async Task A_digest_pinned_reference_pulls_exactly_that_manifest(CancellationToken ct)
    {
        var inspect = await Cli.Wrap("skopeo").WithArguments(["inspect", "--tls-verify=false", "--format", "{{.Digest}}", $"docker://{Registry.Address}/team/app:v1"])
            .ExecuteBufferedAsync(ct);
        var (puller, store, _) = Fresh();

        var image = await puller.PullAsync(Ref($"team/app@{inspect.StandardOutput.Trim()}"), cancellationToken: ct);

        Assert.That(image.Layers, Has.Count.EqualTo(2));
        Assert.That(store.Find(Ref($"team/app@{inspect.StandardOutput.Trim()}")), Is.Not.Null);
    }

    [Test, CancelAfter(60_000)]
    public async Task A_second_pull_downloads_nothing_and_concurrent_pulls_download_each_blob_once(CancellationToken ct)
    {
        var (_, store, state) = Fresh();
        var events = new ConcurrentBag<PullProgress>();
        ImagePuller NewPuller() => Puller(Client(), store, state);

        await Task.WhenAll(NewPuller().PullAsync(Ref("team/app:v1"), events.Add, ct), NewPuller().PullAsync(Ref("team/app:v1"), events.Add, ct));
        var downloadsAtFirst = events.Count(e => e.State == "downloaded");
        events.Clear();
        await NewPuller().PullAsync(Ref("team/app:v1"), events.Add, ct);

        Assert.That(downloadsAtFirst, Is.EqualTo(3), "config and two layers, once each");
        Assert.That(events.Where(e => e.State == "downloaded"), Is.Empty);
        Assert.That(events.Count(e => e.State == "already here"), Is.EqualTo(2));
    }

    [Test, CancelAfter(60_000)]
    public async Task An_interrupted_download_resumes_and_a_corrupt_partial_one_restarts(CancellationToken ct)
    {
        var (puller, store, state) = Fresh();
        var blobs = Directory.CreateDirectory(Path.Combine(state, "b", "sha256")).FullName;
        var layers = await RegistryLayersAsync("team/app", "v1");
        // As a killed pull leaves them: the first half of one blob, and garbage in place of the other's start.
        var first = await Http.GetByteArrayAsync($"http://{Registry.Address}/v2/team/app/blobs/{layers[0].Digest}", ct);
        await File.WriteAllBytesAsync(Path.Combine(blobs, layers[0].Digest[7..] + ".partial"), first[..(first.Length / 2)], ct);
        await File.WriteAllBytesAsync(Path.Combine(blobs, layers[1].Digest[7..] + ".partial"), new byte[100], ct);

        var image = await puller.PullAsync(Ref("team/app:v1"), cancellationToken: ct);
        var run = await TestImages.RunAsync(Host, store, image, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput));
        Assert.That(Directory.GetFiles(blobs, "*.partial"), Is.Empty);
    }

    [Test, CancelAfter(60_000)]
    public async Task A_download_that_completed_before_the_pull_was_killed_is_used_not_asked_for_again(CancellationToken ct)
    {
        var (puller, store, state) = Fresh();
        var blobs = Directory.CreateDirectory(Path.Combine(state, "b", "sha256")).FullName;
        var layers = await RegistryLayersAsync("team/app", "v1");
        // Killed after the last byte and before the rename: asking to resume at the end gets HTTP 416.
        var whole = await Http.GetByteArrayAsync($"http://{Registry.Address}/v2/team/app/blobs/{layers[0].Digest}", ct);
        await File.WriteAllBytesAsync(Path.Combine(blobs, layers[0].Digest[7..] + ".partial"), whole, ct);
        // And one longer than its blob (left by another run): the registry refuses the range; it must start again.
        var other = await Http.GetByteArrayAsync($"http://{Registry.Address}/v2/team/app/blobs/{layers[1].Digest}", ct);
        await File.WriteAllBytesAsync(Path.Combine(blobs, layers[1].Digest[7..] + ".partial"), [.. other, .. new byte[64]], ct);

        var image = await puller.PullAsync(Ref("team/app:v1"), cancellationToken: ct);
        var run = await TestImages.RunAsync(Host, store, image, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput));
        Assert.That(Directory.GetFiles(blobs, "*.partial"), Is.Empty);
    }

    [Test, CancelAfter(60_000)]
    public async Task A_tampered_blob_in_the_registry_is_refused_and_nothing_is_recorded(CancellationToken ct)
    {
        await Registry.PushAsync(_layout, "v1", "team/tampered:v1");
        var (puller, store, state) = Fresh();
        // The registry keeps blobs under blobs/sha256/xx/<hex>/data: corrupt the small layer in place.
        var small = (await RegistryLayersAsync("team/tampered", "v1"))[^1].Digest[7..];
        var data = Directory.GetFiles(Registry.Storage, "data", SearchOption.AllDirectories).Single(f => Path.GetFileName(Path.GetDirectoryName(f)) == small);
        var bytes = await File.ReadAllBytesAsync(data, ct);
        var original = bytes.ToArray();
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(data, bytes, ct);
        try
        {
            var ex = Assert.ThrowsAsync<RegistryException>(() => puller.PullAsync(Ref("team/tampered:v1"), cancellationToken: ct));

            // Each layer unpacks while it downloads: the damaged one must not take its place before its blob's digest is checked.
            Assert.That(ex!.Message, Does.Contain("is corrupt"), "the registry's damage, not an unpacking error it caused");
            Assert.That(store.Find(Ref("team/tampered:v1")), Is.Null);
            Assert.That(Directory.GetFiles(Path.Combine(state, "l"), "*.digest"), Has.Length.EqualTo(1), "only the whole layer is in the store");
            Assert.That(Directory.GetFiles(Path.Combine(state, "b", "sha256")).Select(Path.GetFileName), Has.None.StartWith(small), "nor the damaged blob");
        }
        finally
        {
            await File.WriteAllBytesAsync(data, original, ct);
        }
    }

    [Test, CancelAfter(60_000)]
    public void An_unknown_image_says_so_with_its_name(CancellationToken ct)
    {
        var (puller, _, _) = Fresh();

        var ex = Assert.ThrowsAsync<RegistryException>(() => puller.PullAsync(Ref("team/nothing:v9"), cancellationToken: ct));

        Assert.That(ex!.Message, Does.StartWith($"{Registry.Address}: team/nothing: not found"));
    }
}
