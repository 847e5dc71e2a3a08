using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Containers;

/// <summary>
/// What the container tests share: a root file system built from Debian's busybox-static (never
/// from the host's own root), a runtime with its own state directory, and the checks that
/// nothing of a container is left on the host.
/// </summary>
public sealed class ContainerHost : IDisposable
{
    private ContainerHost(string dir, ContainerRuntime runtime)
    {
        Directory = dir;
        Runtime = runtime;
    }

    public string Directory { get; }

    public string Rootfs => Path.Combine(Directory, "busybox");

    public string StateDirectory => Path.Combine(Directory, "state");

    public ContainerRuntime Runtime { get; }

    /// <summary>Skips (with the reason) where the host cannot run containers; builds the busybox root otherwise.</summary>
    public static async Task<ContainerHost> CreateAsync()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("container tests need root (CI runs them as root)");
        }

        if (!File.Exists("/bin/busybox"))
        {
            Assert.Ignore("busybox-static is not installed (apt-get install busybox-static; .ci/run does)");
        }

        var dir = System.IO.Directory.CreateTempSubdirectory("rt-").FullName;
        var rootfs = Path.Combine(dir, "busybox");
        await Ci.Tests.Shared.BusyboxRoot.CreateAsync(rootfs, "etc", "tmp", "root", "data");

        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
        File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0b1_111_111_111);
        // As runner exec makes its runtime: each container's runner-init is started ahead, while the one before runs.
        var runtime = ContainerRuntime.Create(new RuntimeOptions
        {
            StateDirectory = Path.Combine(dir, "state"),
            CgroupParent = CgroupParentFor(dir),
            UseLauncher = true,
        });
        return new ContainerHost(dir, runtime);
    }

    /// <summary>A parent cgroup of this fixture's own, so test assemblies running at once never see each other's containers.</summary>
    public static string CgroupParentFor(string directory) => "runner-test-" + Path.GetFileName(directory).Replace("rt-", "", StringComparison.Ordinal).ToLowerInvariant();

    public ContainerSpec Spec(params string[] command) => new()
    {
        Layers = [Rootfs],
        Command = command,
        Env = new Dictionary<string, string> { ["PATH"] = "/bin" },
        Limits = new ContainerLimits(Pids: 256),
        StopGracePeriod = TimeSpan.FromSeconds(2),
    };

    public async Task<Run> RunAsync(ContainerSpec spec, CancellationToken cancellationToken = default)
    {
        var lines = new List<OutputLine>();
        var result = await Runtime.RunAsync(spec, line =>
        {
            lock (lines)
            {
                lines.Add(line);
            }
        }, cancellationToken);
        return new Run(result, lines);
    }

    public Task<Run> ShAsync(string script, CancellationToken cancellationToken = default) => RunAsync(Spec("/bin/sh", "-c", script), cancellationToken);

    /// <summary>Everything a container could leave on the host: state directories, cgroups, mounts, processes.</summary>
    public IReadOnlyList<string> Leftovers()
    {
        var found = new List<string>();
        var containers = Path.Combine(StateDirectory, "c");
        found.AddRange(System.IO.Directory.Exists(containers) ? System.IO.Directory.EnumerateFileSystemEntries(containers).Select(d => $"state dir {d}") : []);
        foreach (var parent in CgroupParents())
        {
            found.AddRange(System.IO.Directory.Exists(parent) ? System.IO.Directory.EnumerateDirectories(parent).Select(d => $"cgroup {d}") : []);
        }

        found.AddRange(File.ReadLines("/proc/self/mountinfo").Where(l => l.Contains(Directory, StringComparison.Ordinal)).Select(l => $"mount {l}"));
        found.AddRange(Ci.Tests.Shared.HostProcesses.InitsUnder(Directory).Select(p => $"process {p}"));
        return found;
    }

    /// <summary>Command lines of host processes containing <paramref name="text"/>.</summary>
    public static IEnumerable<string> HostProcesses(string text) => Ci.Tests.Shared.HostProcesses.WithCommandLine(text);

    private IEnumerable<string> CgroupParents() => Runtime.Cgroups.Mode == Ci.Isolation.Cgroups.CgroupMode.Unified
        ? [Path.Combine(Runtime.Cgroups.UnifiedMount!, Runtime.Options.CgroupParent)]
        : Runtime.Cgroups.V1Mounts.Values.Distinct().Select(m => Path.Combine(m, Runtime.Options.CgroupParent));

    public void Dispose()
    {
        foreach (var parent in CgroupParents().Where(System.IO.Directory.Exists))
        {
            System.IO.Directory.Delete(parent);
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Compiles a C program statically (the test roots have no libc), into the host's directory; ignores the test without gcc.</summary>
    public async Task<string> CompileStaticAsync(string name, string source, CancellationToken ct)
    {
        var gcc = new[] { "/usr/bin/gcc", "/usr/bin/cc" }.FirstOrDefault(File.Exists);
        if (gcc is null)
        {
            Assert.Ignore("gcc is not installed; .ci/run installs it");
        }

        var c = Path.Combine(Directory, name + ".c");
        var exe = Path.Combine(Directory, name);
        await File.WriteAllTextAsync(c, source, ct);
        var result = await Cli.Wrap(gcc!).WithArguments(["-static", "-O1", "-o", exe, c]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        return exe;
    }
}

public sealed record Run(ContainerResult Result, IReadOnlyList<OutputLine> Lines)
{
    public string Stdout => string.Join("\n", Lines.Where(l => l.Stream == OutputStream.Stdout).Select(l => l.Text));

    public string Stderr => string.Join("\n", Lines.Where(l => l.Stream == OutputStream.Stderr).Select(l => l.Text));

    public override string ToString() => $"{Result}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
