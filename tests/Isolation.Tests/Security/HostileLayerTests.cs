using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Security;

/// <summary>
/// Issue 10, items 3, 4 and 15: a layer is hostile input. Whatever its entries say, no host path
/// changes owner, mode or content, nothing of the store is deleted, and a layer that would fill the
/// disk is refused. Real layers, real files, as root.
/// </summary>
[Category("Security")]
public sealed class HostileLayerTests : ContainerFixture
{
    private LayerStore _layers = null!;
    private string _host = null!;
    private int _tars;

    [OneTimeSetUp]
    public void SetUp() => _layers = new LayerStore(Host.StateDirectory);

    [SetUp]
    public void HostDirectory()
    {
        // A directory of the "host", with a file a layer must not touch.
        _host = Directory.CreateDirectory(Path.Combine(Host.Directory, $"host-{_tars}")).FullName;
        File.WriteAllText(Path.Combine(_host, "x"), "host file");
        File.SetUnixFileMode(Path.Combine(_host, "x"), (UnixFileMode)0b110_100_100);
    }

    private Layer Import(LayerTar tar, UnpackLimits? limits = null)
    {
        var path = tar.WriteTo(Path.Combine(Host.Directory, $"layer-{_tars++}.tar"));
        using var file = File.OpenRead(path);
        return (limits is null ? _layers : new LayerStore(Host.StateDirectory) { Limits = limits }).Import(file);
    }

    [TestCase(0b110_110_110)]
    [TestCase(0b100_111_111_111)]
    public void Directory_metadata_never_follows_a_link_that_replaced_the_directory(int mode)
    {
        // y/x is a directory entry (mode and owner to apply at the end), then y becomes a link to a host directory.
        var layer = Import(new LayerTar().Dir("y/").Dir("y/x", (UnixFileMode)mode, uid: 65534).Symlink("y", _host));

        var stat = Native.Libc.Lstat(Path.Combine(_host, "x"));
        Assert.Multiple(() =>
        {
            Assert.That(stat.Uid, Is.Zero, "the host file's owner");
            Assert.That(stat.Mode & 0xfff, Is.EqualTo(0b110_100_100), "the host file's mode");
            Assert.That(File.ReadAllText(Path.Combine(_host, "x")), Is.EqualTo("host file"));
            Assert.That(new FileInfo(Path.Combine(layer.Path, "y")).LinkTarget, Is.EqualTo(_host), "the layer keeps the link as a link");
        });
    }

    [TestCase(".wh...")]
    [TestCase("sub/.wh...")]
    [TestCase(".wh..")]
    [TestCase(".wh.")]
    public void A_whiteout_of_dot_or_dot_dot_is_refused_and_the_store_keeps_its_layers(string name)
    {
        var kept = Import(new LayerTar().File("kept", "still here"));

        var ex = Assert.Throws<IsolationException>(() => Import(new LayerTar().Dir("sub/").File(name, "")));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.Contain("whiteout of no real name"));
            Assert.That(File.ReadAllText(Path.Combine(kept.Path, "kept")), Is.EqualTo("still here"));
            Assert.That(Directory.EnumerateDirectories(Path.Combine(Host.StateDirectory, "l"), ".tmp-*"), Is.Empty, "no half-unpacked layer is left");
        });
    }

    [Test]
    public void A_whiteout_under_a_link_is_refused_and_deletes_nothing_on_the_host()
    {
        Assert.Throws<IsolationException>(() => Import(new LayerTar().Symlink("d", _host).Whiteout("d/x")));

        Assert.That(File.ReadAllText(Path.Combine(_host, "x")), Is.EqualTo("host file"));
    }

    [Test]
    public void A_hard_link_through_a_link_to_a_host_file_is_refused()
    {
        var ex = Assert.Throws<IsolationException>(() => Import(new LayerTar().Symlink("d", _host).HardLink("stolen", "d/x")));

        Assert.That(ex!.Message, Is.EqualTo("layer entry 'stolen' refused: its hard link target 'd/x' goes through 'd', which is a symbolic link"));

        Assert.That(Native.Libc.Lstat(Path.Combine(_host, "x")).Mode & 0xfff, Is.EqualTo(0b110_100_100));
    }

    [Test]
    public void A_file_under_a_directory_that_became_a_link_is_refused_though_the_directory_was_kept_open()
    {
        // The unpacking keeps the directories it walked to open: d is kept after d/a, then d becomes a link to the host.
        var ex = Assert.Throws<IsolationException>(() => Import(new LayerTar().Dir("d/").File("d/a", "in the layer").Symlink("d", _host).File("d/planted", "!")));

        Assert.That(ex!.Message, Is.EqualTo("layer entry 'd/planted' refused: its parent 'd' is a symbolic link"));
        Assert.That(File.Exists(Path.Combine(_host, "planted")), Is.False);
    }

    [Test]
    public void A_directory_entry_replaces_a_link_of_its_name_and_what_follows_goes_into_the_layer()
    {
        // Legal in a layer: a link, then a directory of the same name. The link goes; nothing is written where it pointed.
        var layer = Import(new LayerTar().Symlink("x", _host).Dir("x/").File("x/f", "in the layer"));

        Assert.Multiple(() =>
        {
            Assert.That(new FileInfo(Path.Combine(layer.Path, "x")).LinkTarget, Is.Null);
            Assert.That(File.ReadAllText(Path.Combine(layer.Path, "x", "f")), Is.EqualTo("in the layer"));
            Assert.That(File.Exists(Path.Combine(_host, "f")), Is.False);
        });
    }

    [Test]
    public void A_layer_that_unpacks_past_the_limit_is_refused_with_the_limit_and_nothing_is_kept()
    {
        var big = new LayerTar();
        for (var i = 0; i < 4; i++)
        {
            big.File($"f{i}", new string('z', 1 << 20));
        }

        var ex = Assert.Throws<IsolationException>(() => Import(big, new UnpackLimits { MaxBytes = 3 << 20 }));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.Contain("more than 3 MiB").And.Contain(UnpackLimits.MaxBytesVariable));
            Assert.That(Directory.EnumerateDirectories(Path.Combine(Host.StateDirectory, "l"), ".tmp-*"), Is.Empty);
        });
    }
}
