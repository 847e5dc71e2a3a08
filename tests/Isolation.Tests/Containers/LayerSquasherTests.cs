using Ci.Isolation.Images;

namespace Ci.Isolation.Tests.Containers;

/// <summary>
/// Squashed step layers must look, through the kernel's own overlay, exactly as the stack of
/// layers they replace: the oracle is a container on each, listing its whole file system.
/// </summary>
public sealed class LayerSquasherTests : ContainerFixture
{
    // Every kind of change a step makes to what is below it: new, changed and deleted files, a
    // directory removed and made again (opaque), a file replaced by a directory and back, links
    // (one pointing at the host's /etc, which must stay a link), a deleted name made again, modes.
    private static readonly string[] Steps =
    [
        "mkdir -p /data/a /data/c /data/gone && echo one > /data/a/x && echo b > /data/b && echo d > /data/c/d && echo e > /data/e && touch /data/gone/f",
        "echo two > /data/a/x && rm /data/b && rm -r /data/gone && ln -s /etc/passwd /data/host-passwd && chmod 700 /data/a",
        "rm -r /data/c && mkdir /data/c && echo new > /data/c/n && rm /data/e && mkdir /data/e && echo in > /data/e/f",
        "rm -r /data/e && echo file-again > /data/e && echo b-again > /data/b && mkdir -p /data/gone && chmod 4755 /data/a/x",
    ];

    private const string List = "cd /data && find . | sort | while read -r p; do stat -c '%n %F %a %s %u' \"$p\"; " +
        "[ -f \"$p\" ] && [ ! -L \"$p\" ] && cat \"$p\"; [ -L \"$p\" ] && readlink \"$p\"; done; echo end";

    [Test, CancelAfter(120_000)]
    public async Task A_squashed_stack_shows_a_container_the_same_tree_as_the_layers_it_replaces(CancellationToken ct)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Host.Directory, "squash-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var uppers = new List<string>();
        foreach (var (script, i) in Steps.Select((s, i) => (s, i)))
        {
            var upper = Directory.CreateDirectory(Path.Combine(dir, $"step-{i}")).FullName;
            var step = await Host.RunAsync(Host.Spec("/bin/sh", "-c", script) with { Layers = [.. Enumerable.Reverse(uppers), Host.Rootfs], UpperDirectory = upper }, ct);
            Assert.That(step.Result.ExitCode, Is.EqualTo(0), step.ToString());
            uppers.Add(upper);
        }

        var stacked = await Host.RunAsync(Host.Spec("/bin/sh", "-c", List) with { Layers = [.. Enumerable.Reverse(uppers), Host.Rootfs] }, ct);
        await Host.Runtime.DrainAsync();
        var squashed = Path.Combine(dir, "squashed");
        LayerSquasher.ApplyOnto(squashed, uppers);
        var once = await Host.RunAsync(Host.Spec("/bin/sh", "-c", List) with { Layers = [squashed, Host.Rootfs] }, ct);

        Assert.That(stacked.Stdout, Does.EndWith("end").And.Contain("./a/x regular file 4755").And.Contain("./host-passwd symbolic link").And.Not.Contain("./c/d"));
        Assert.That(once.Stdout, Is.EqualTo(stacked.Stdout), "the same names, kinds, modes, sizes, owners and contents");
        Assert.That(new FileInfo(Path.Combine(squashed, "data", "host-passwd")).LinkTarget, Is.EqualTo("/etc/passwd"), "a link is moved as the link");
    }

    [Test, CancelAfter(120_000)]
    public async Task Squashing_onto_an_earlier_squash_keeps_whiteouts_for_the_image_below(CancellationToken ct)
    {
        // The image's own /etc/passwd deleted in one round and a file of the image changed in the next: both must hold over the image.
        var dir = Directory.CreateDirectory(Path.Combine(Host.Directory, "squash-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var squashed = Path.Combine(dir, "squashed");
        var layers = new List<string>();
        foreach (var (script, i) in new[] { "rm /etc/passwd", "rm -r /tmp && mkdir /tmp && echo t > /tmp/t" }.Select((s, i) => (s, i)))
        {
            var upper = Directory.CreateDirectory(Path.Combine(dir, $"step-{i}")).FullName;
            var step = await Host.RunAsync(Host.Spec("/bin/sh", "-c", script) with { Layers = [.. Enumerable.Reverse(layers), Host.Rootfs], UpperDirectory = upper }, ct);
            Assert.That(step.Result.ExitCode, Is.EqualTo(0), step.ToString());
            await Host.Runtime.DrainAsync();
            LayerSquasher.ApplyOnto(squashed, [upper]);
            layers = [squashed];
        }

        var seen = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "test -e /etc/passwd && echo passwd; ls -A /tmp; test -e /bin/sh && echo sh") with { Layers = [squashed, Host.Rootfs] }, ct);

        Assert.That(seen.Stdout, Is.EqualTo("t\nsh"), seen.ToString());
    }
}
