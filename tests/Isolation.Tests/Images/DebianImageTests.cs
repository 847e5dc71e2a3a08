using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Containers;
using Ci.Isolation.Tests.Registry;

namespace Ci.Isolation.Tests.Images;

/// <summary>A real distribution in our containers: a Debian 12 minbase root, imported as an image.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class DebianImageTests : ContainerFixture
{
    private ImageStore _store = null!;
    private Image _image = null!;

    [OneTimeSetUp]
    public async Task ImportDebian()
    {
        var tarball = await DebianRootfs.TarballAsync(CancellationToken.None);
        _store = new ImageStore(Host.StateDirectory, new LayerStore(Host.StateDirectory));
        _image = _store.ImportRootfs(tarball, ImageReference.Parse("localhost/debian:bookworm-minbase"));
    }

    private Task<Run> RunAsync(string script, uint uid, CancellationToken ct) => RunAsync(_store, _image, script, uid, ct);

    private Task<Run> RunAsync(ImageStore store, Image image, string script, uint uid, CancellationToken ct) => Host.RunAsync(Host.Spec("/bin/bash", "-c", script) with
    {
        Layers = store.LayerPaths(image),
        Env = new Dictionary<string, string> { ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
        Uid = uid,
        Gid = uid,
    }, ct);

    [Test, CancelAfter(60_000)]
    public async Task Its_tools_packages_and_users_work_and_bash_is_pid_1(CancellationToken ct)
    {
        var run = await RunAsync("cut -d. -f1 /etc/debian_version; dpkg-query -W -f='${Package}\\n' bash; echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; id -un", 0, ct);
        var nobody = await RunAsync("id; touch /root/x 2>/dev/null || echo cannot-write-root-home", 65534, ct);

        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "12", "bash", "1", "/bin/bash -c " + run.Stdout.Split('\n')[3][13..], "root" }));
        Assert.That(nobody.Stdout.Split('\n'), Is.EqualTo(new[] { "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)", "cannot-write-root-home" }));
    }

    [Test, CancelAfter(60_000)]
    public async Task Util_linux_escape_tools_of_a_real_distribution_are_refused(CancellationToken ct)
    {
        var run = await RunAsync(
            "mount -t tmpfs none /mnt 2>/dev/null || echo no-mount;" +
            "unshare --user --map-root-user true 2>/dev/null || echo no-userns;" +
            "nsenter --target 1 --mount true 2>/dev/null || echo no-nsenter;" +
            "mknod /tmp/sda b 8 0 2>/dev/null || echo no-mknod;" +
            "chroot / true && echo chroot-stays-inside", 0, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "no-mount", "no-userns", "no-nsenter", "no-mknod", "chroot-stays-inside" }), run.ToString());
    }

    [Test, CancelAfter(300_000)]
    public async Task Every_packaged_file_survives_the_import_and_a_push_and_pull_through_a_registry(CancellationToken ct)
    {
        // dpkg --verify checks every installed file against its package's checksums; ls and stat show modes, setuid bits and hard links.
        const string Check = "dpkg --verify && echo verified; stat -c '%A %h' /usr/bin/su /usr/bin/perl";
        await using var registry = await RegistryServer.StartAsync(Host.Directory);
        using var http = new HttpClient();
        var client = new RegistryClient(http, new RegistryOptions { DockerConfigPath = Path.Combine(Host.Directory, "no-config.json") }, Serilog.Core.Logger.None);
        var remote = ImageReference.Parse($"{registry.Address}/debian:bookworm-minbase");

        var imported = await RunAsync(Check, 0, ct);
        await new ImagePusher(client, _store).PushAsync(_image, remote, cancellationToken: ct);
        var state = Directory.CreateDirectory(Path.Combine(Host.Directory, "pulled-debian")).FullName;
        var store = new ImageStore(state, new LayerStore(state));
        var pulled = await new ImagePuller(client, store, state, Serilog.Core.Logger.None).PullAsync(remote, cancellationToken: ct);
        var roundTrip = await RunAsync(store, pulled, Check, 0, ct);

        Assert.That(imported.Stdout.Split('\n'), Is.EqualTo(new[] { "verified", "-rwsr-xr-x 1", "-rwxr-xr-x 2" }), imported.ToString());
        Assert.That(roundTrip.Stdout, Is.EqualTo(imported.Stdout), roundTrip.ToString());
        Assert.That(pulled.Layers, Is.EqualTo(_image.Layers), "the same layer (by DiffID) came back");
    }
}
