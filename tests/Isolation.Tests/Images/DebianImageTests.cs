using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

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

    private Task<Run> RunAsync(string script, uint uid, CancellationToken ct) => Host.RunAsync(Host.Spec("/bin/bash", "-c", script) with
    {
        Layers = _store.LayerPaths(_image),
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
}
