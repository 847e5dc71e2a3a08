using CliWrap;
using CliWrap.Buffered;

namespace Ci.Isolation.Tests.Images;

/// <summary>
/// A real Debian 12 root file system from Debian packages (mmdebstrap --variant=minbase), as a
/// tarball. Made once and kept for a week under /var/tmp, because it takes about 40 s; a test
/// run that finds it fresh reuses it.
/// </summary>
internal static class DebianRootfs
{
    private const string Tarball = "/var/tmp/runner-tests/debian-bookworm-minbase.tar";
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<string> TarballAsync(CancellationToken ct)
    {
        if (!File.Exists("/usr/bin/mmdebstrap"))
        {
            Assert.Ignore("mmdebstrap is not installed (apt-get install mmdebstrap; .ci/run does)");
        }

        await Gate.WaitAsync(ct);
        try
        {
            if (File.Exists(Tarball) && File.GetLastWriteTimeUtc(Tarball) > DateTime.UtcNow.AddDays(-7))
            {
                return Tarball;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Tarball)!);
            var temp = $"{Tarball[..^4]}.tmp-{Environment.ProcessId}.tar"; // mmdebstrap picks the format by the extension
            var result = await Cli.Wrap("mmdebstrap").WithArguments(["--variant=minbase", "--quiet", "bookworm", temp])
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);
            if (result.ExitCode != 0)
            {
                File.Delete(temp);
                Assert.Fail($"mmdebstrap could not make the Debian root: {result.StandardError}");
            }

            File.Move(temp, Tarball, overwrite: true);
            return Tarball;
        }
        finally
        {
            Gate.Release();
        }
    }
}
