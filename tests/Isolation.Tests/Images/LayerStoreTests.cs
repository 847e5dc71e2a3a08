using System.IO.Compression;
using System.Security.Cryptography;
using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Images;

/// <summary>Layers unpack once, exactly, and safely; stacked, they show the tree the image means. Real files, as root.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class LayerStoreTests : ContainerFixture
{
    private LayerStore _layers = null!;
    private int _tars;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _layers = new LayerStore(Host.StateDirectory);
    }

    private string Tar(LayerTar tar) => tar.WriteTo(Path.Combine(Host.Directory, $"layer-{_tars++}.tar"));

    private Layer Import(string tarPath)
    {
        using var file = File.OpenRead(tarPath);
        return _layers.Import(file);
    }

    private static async Task<string> StatAsync(string path, string format) =>
        (await Cli.Wrap("stat").WithArguments(["-c", format, path]).ExecuteBufferedAsync()).StandardOutput.Trim();

    private static string? Xattr(string path, string name)
    {
        var buffer = new byte[256];
        var n = LGetXattr(path, name, buffer, buffer.Length);
        return n < 0 ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "lgetxattr")]
    private static extern nint LGetXattr(
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string name,
        byte[] value, nint size);

    [Test]
    public async Task Files_links_devices_owners_modes_xattrs_and_times_survive()
    {
        var mtime = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var layer = Import(Tar(new LayerTar()
            .Dir("etc/")
            .Dir("secret/", (UnixFileMode)0b111_000_000)
            .File("etc/tool", "#!/bin/sh\n", (UnixFileMode)0b100_111_101_101, uid: 1000, mtime: mtime)
            .File("etc/tagged", "x", pax: new Dictionary<string, string> { ["SCHILY.xattr.user.origin"] = "layer-test" })
            .Symlink("etc/link", "../etc/tool")
            .HardLink("etc/hard", "etc/tool")
            .Fifo("etc/pipe")
            .CharDevice("etc/null", 1, 3)
            .File("secret/inside", "s")));

        var p = layer.Path;
        Assert.That(await StatAsync($"{p}/etc/tool", "%a %u %g %h"), Is.EqualTo("4755 1000 1000 2"), "setuid mode and owner kept; hard link shares the inode");
        Assert.That(await StatAsync($"{p}/etc/hard", "%i"), Is.EqualTo(await StatAsync($"{p}/etc/tool", "%i")));
        Assert.That(File.GetLastWriteTimeUtc($"{p}/etc/tool"), Is.EqualTo(mtime.UtcDateTime));
        Assert.That(new FileInfo($"{p}/etc/link").LinkTarget, Is.EqualTo("../etc/tool"));
        Assert.That(await StatAsync($"{p}/etc/pipe", "%F"), Is.EqualTo("fifo"));
        Assert.That(await StatAsync($"{p}/etc/null", "%F %t:%T"), Is.EqualTo("character special file 1:3"));
        Assert.That(await StatAsync($"{p}/secret", "%a"), Is.EqualTo("700"), "directory modes are set after their contents");
        Assert.That(Xattr($"{p}/etc/tagged", "user.origin"), Is.EqualTo("layer-test"));
    }

    [Test]
    public async Task Whiteouts_and_opaque_directories_become_overlayfs_markers()
    {
        var layer = Import(Tar(new LayerTar().Dir("data/").Whiteout("data/gone").Dir("data/fresh/").Opaque("data/fresh")));

        Assert.That(await StatAsync($"{layer.Path}/data/gone", "%F %t:%T"), Is.EqualTo("character special file 0:0"));
        Assert.That(Xattr($"{layer.Path}/data/fresh", "trusted.overlay.opaque"), Is.EqualTo("y"));
        Assert.That(File.Exists($"{layer.Path}/data/fresh/.wh..wh..opq"), Is.False);
    }

    [Test, CancelAfter(60_000)]
    public async Task Stacked_layers_show_deletions_replacements_and_opaque_directories_inside_a_container(CancellationToken ct)
    {
        var lower = Import(Tar(new LayerTar()
            .Dir("data/").File("data/keep", "k").File("data/doomed", "d").File("data/becomes-dir", "f")
            .Dir("data/old/").File("data/old/a", "a").File("data/old/b", "b")));
        var upper = Import(Tar(new LayerTar()
            .Dir("data/").Whiteout("data/doomed")
            .Dir("data/becomes-dir/").File("data/becomes-dir/inner", "i")
            .Dir("data/old/").Opaque("data/old").File("data/old/c", "c")));

        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "cd /data && find . | sort") with
        {
            Layers = [upper.Path, lower.Path, Host.Rootfs],
        }, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { ".", "./becomes-dir", "./becomes-dir/inner", "./keep", "./old", "./old/c" }), run.ToString());
    }

    [TestCase("../escape", "its path leaves the layer")]
    [TestCase("a/../../escape", "its path leaves the layer")]
    public void Entries_that_leave_the_layer_are_refused(string name, string reason)
    {
        var tar = Tar(new LayerTar().File(name, "x"));

        var ex = Assert.Throws<IsolationException>(() => Import(tar));

        Assert.That(ex!.Message, Does.Contain(reason));
        Assert.That(Directory.EnumerateDirectories(Path.Combine(Host.StateDirectory, "l"), ".tmp-*"), Is.Empty, "nothing half-unpacked is left");
    }

    [Test]
    public void A_symbolic_link_used_as_a_parent_is_refused_and_nothing_is_written_through_it()
    {
        var outside = Directory.CreateDirectory(Path.Combine(Host.Directory, "outside")).FullName;
        var tar = Tar(new LayerTar().Symlink("evil", outside).File("evil/planted", "x"));

        var ex = Assert.Throws<IsolationException>(() => Import(tar));

        Assert.That(ex!.Message, Does.Contain("its parent 'evil' is a symbolic link"));
        Assert.That(File.Exists(Path.Combine(outside, "planted")), Is.False);
    }

    [Test]
    public void A_hard_link_to_outside_the_layer_is_refused()
    {
        var tar = Tar(new LayerTar().HardLink("innocent", "../../../etc/shadow"));

        Assert.That(() => Import(tar), Throws.TypeOf<IsolationException>().With.Message.Contains("leaves the layer"));
    }

    [Test]
    public void The_diff_id_is_the_digest_of_the_uncompressed_tar_and_gzip_and_zstd_give_the_same_layer()
    {
        var tar = Tar(new LayerTar().File("same", "content"));
        var gz = tar + ".gz";
        using (var input = File.OpenRead(tar))
        using (var output = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
        {
            input.CopyTo(output);
        }

        var zst = tar + ".zst";
        using (var input = File.OpenRead(tar))
        using (var file = File.Create(zst))
        using (var output = new ZstdSharp.CompressionStream(file))
        {
            input.CopyTo(output);
        }

        var plain = Import(tar);
        var zipped = Import(gz);
        var zstd = Import(zst);

        Assert.That(plain.DiffId.Hex, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(tar)))));
        Assert.That(zipped, Is.EqualTo(plain));
        Assert.That(zstd, Is.EqualTo(plain));
    }

    [Test]
    public void A_layer_whose_content_does_not_match_its_digest_is_refused_and_not_kept()
    {
        var tar = Tar(new LayerTar().File("tampered", "evil"));
        var claimed = Digest.Parse("sha256:" + new string('a', 64));

        using var file = File.OpenRead(tar);
        var ex = Assert.Throws<IsolationException>(() => _layers.Import(file, claimed));

        Assert.That(ex!.Message, Does.Contain("does not match its digest"));
        Assert.That(_layers.Find(claimed), Is.Null);
        Assert.That(Directory.EnumerateDirectories(Path.Combine(Host.StateDirectory, "l"), ".tmp-*"), Is.Empty);
    }

    [Test, CancelAfter(120_000)]
    public async Task An_image_of_120_layers_mounts_and_runs(CancellationToken ct)
    {
        // The busybox root as a layer too, so all lower directories live in the store, as pulled images do.
        var tarOfRoot = Path.Combine(Host.Directory, "busybox-root.tar");
        await Cli.Wrap("tar").WithArguments(["-C", Host.Rootfs, "-cf", tarOfRoot, "."]).ExecuteAsync(ct);
        var layers = new List<string> { Import(tarOfRoot).Path };
        for (var i = 0; i < 120; i++)
        {
            layers.Add(Import(Tar(new LayerTar().Dir("stack/").File($"stack/{i:000}", $"{i}\n").File("stack/top", $"{i}\n"))).Path);
        }

        layers.Reverse();
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", "ls /stack | wc -l; cat /stack/top") with { Layers = layers }, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "121", "119" }), run.ToString());
    }
}
