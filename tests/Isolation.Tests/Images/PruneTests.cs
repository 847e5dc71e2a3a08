using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Images;

[Category("Container")]
[NonParallelizable]
public sealed class PruneTests : ContainerFixture
{

    [Test, CancelAfter(60_000)]
    public async Task Prune_frees_what_no_image_uses_but_never_a_layer_a_running_container_stacks(CancellationToken ct)
    {
        var state = Directory.CreateDirectory(Path.Combine(Host.Directory, "prune-state")).FullName;
        var store = new ImageStore(state, new LayerStore(state));
        string Tar(string name, int kib) => new LayerTar().File(name, new string('x', kib * 1024)).WriteTo(Path.Combine(Host.Directory, name + ".tar"));
        var kept = store.ImportRootfs(Tar("kept", 10), ImageReference.Parse("prune/kept"));
        var dropped = store.ImportRootfs(Tar("dropped", 300), ImageReference.Parse("prune/dropped"));
        var busy = store.ImportRootfs(Tar("busy", 20), ImageReference.Parse("prune/busy"));
        store.Remove(ImageReference.Parse("prune/dropped"));

        // prune/busy's layer is stacked by a running container (of this runtime's state directory) while its image is removed.
        var runtime = ContainerRuntime.Create(new RuntimeOptions { StateDirectory = state, CgroupParent = Host.Runtime.Options.CgroupParent });
        var running = runtime.RunAsync(Host.Spec("sleep", "2") with { Layers = [.. store.LayerPaths(busy), Host.Rootfs] }, cancellationToken: ct);
        while (!Directory.Exists(Path.Combine(state, "c")) || !Directory.EnumerateFiles(Path.Combine(state, "c"), "spec.json", SearchOption.AllDirectories).Any())
        {
            await Task.Delay(20, ct);
        }

        store.Remove(ImageReference.Parse("prune/busy"));
        var result = ImagePruner.Prune(store, state);
        await running;

        Assert.That(result.Layers, Is.EqualTo(1), "only the dropped image's layer");
        Assert.That(result.Blobs, Is.EqualTo(4), "the dropped and busy images' tarballs and configs");
        Assert.That(result.BytesFreed, Is.GreaterThan(600 * 1024), "the 300 KiB layer and its 300 KiB tarball, at least");
        Assert.That(store.Layers.Find(Digest.Parse(kept.Layers[0])), Is.Not.Null);
        Assert.That(store.Layers.Find(Digest.Parse(busy.Layers[0])), Is.Not.Null);
        Assert.That(store.Layers.Find(Digest.Parse(dropped.Layers[0])), Is.Null);
        Assert.That(store.LayerPaths(kept), Has.Count.EqualTo(1));
    }
}
