using CliWrap;
using CliWrap.Buffered;

namespace Ci.Tests.Shared;

/// <summary>The test roots: Debian's static busybox and a link per applet in <c>bin/</c>, never the host's own root.</summary>
public static class BusyboxRoot
{
    /// <summary>Makes <paramref name="rootfs"/> with busybox and its applets, and the empty <paramref name="directories"/>.</summary>
    public static async Task CreateAsync(string rootfs, params string[] directories)
    {
        foreach (var sub in directories.Append("bin"))
        {
            Directory.CreateDirectory(Path.Combine(rootfs, sub));
        }

        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        var applets = await Cli.Wrap("/bin/busybox").WithArguments("--list").ExecuteBufferedAsync();
        foreach (var applet in applets.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "busybox"))
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }
    }
}
