using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Images;

/// <summary>The built-in image: the host's tools, read-only, and nothing private of the host.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class HostImageTests : ContainerFixture
{
    private HostImage _image = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _image = HostImage.Open(Host.StateDirectory);
    }

    private ContainerSpec Spec(string script) => Host.Spec("/bin/sh", "-c", script) with
    {
        Layers = [_image.Skeleton],
        Mounts = _image.Mounts,
        Env = new Dictionary<string, string> { ["PATH"] = "/usr/local/bin:/usr/bin:/bin" },
    };

    [Test, CancelAfter(60_000)]
    public async Task The_hosts_compiler_builds_a_program_in_the_container(CancellationToken ct)
    {
        if (!File.Exists("/usr/bin/gcc"))
        {
            Assert.Ignore("gcc is not installed on this host; .ci/run installs it");
        }

        var run = await Host.RunAsync(Spec("cd /tmp && printf 'int main(void){return 42;}' > t.c && cc -o t t.c && ./t; echo $?"), ct);

        Assert.That(run.Stdout, Is.EqualTo("42"), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task Host_system_directories_are_read_only_and_private_files_are_absent(CancellationToken ct)
    {
        var run = await Host.RunAsync(Spec(
            "touch /usr/planted 2>/dev/null || echo usr-ro; " +
            "test -e /etc/shadow || echo no-shadow; " +
            "ls -A /root /home | tr -d '\\n'; echo; " +
            "test -e /etc/passwd && echo has-passwd; " +
            "echo ok > /tmp/scratch && cat /tmp/scratch"), ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(new[] { "usr-ro", "no-shadow", "/home:/root:", "has-passwd", "ok" }), run.ToString());
        Assert.That(File.Exists("/usr/planted"), Is.False);
    }
}
