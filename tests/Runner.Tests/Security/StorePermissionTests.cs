using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Security;

/// <summary>Issue 10, item 7: the state directory is root's alone, so a setuid file a step kept gives no local user root. Real runs, as root.</summary>
[Category("Security")]
public sealed class StorePermissionTests : ExecFixture
{
    [Test, CancelAfter(120_000)]
    public async Task The_state_directory_is_private_and_a_kept_setuid_file_is_out_of_other_users_reach(CancellationToken ct)
    {
        File.SetUnixFileMode(Dir, (UnixFileMode)0b111_101_101); // the fixture's own directory would hide the state otherwise
        var state = NewState("private");
        Directory.CreateDirectory(state, (UnixFileMode)0b111_101_101); // made by hand, world-readable
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: cp /bin/sh /opt/suid-shell && chmod 4755 /opt/suid-shell
                    cache: layer
            """);

        var run = await ExecInAsync(state, repo);
        var kept = Directory.EnumerateFiles(Path.Combine(state, "step-cache"), "suid-shell", SearchOption.AllDirectories).Single();
        // A local user (nobody) runs it from a shell: setpriv's own exec would still hold root's capabilities.
        var asNobody = await CliWrap.Cli.Wrap("setpriv").WithArguments(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", $"'{kept}' -p -c 'id -u'"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        Assert.That(File.GetUnixFileMode(kept) & UnixFileMode.SetUser, Is.EqualTo(UnixFileMode.SetUser), "the layer keeps what the step made");
        Assert.That(File.GetUnixFileMode(state), Is.EqualTo((UnixFileMode)0b111_000_000), "the state directory is made root's alone");
        Assert.That(asNobody.ExitCode, Is.Not.EqualTo(0));
        Assert.That(asNobody.StandardError, Does.Contain("Permission denied"));
        Assert.That(asNobody.StandardOutput, Does.Not.Contain("0"));
    }
}
