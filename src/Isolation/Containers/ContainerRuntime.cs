using System.Text;
using System.Text.Json;
using Ci.Isolation.Cgroups;
using Ci.Isolation.Init;
using Ci.Isolation.Processes;
using Serilog;

namespace Ci.Isolation.Containers;

/// <summary>
/// Runs containers: a fresh one per <see cref="RunAsync"/>, limited, hardened and removed
/// completely when it ends, whatever the end. Thread-safe: containers may run concurrently.
/// Creating a runtime first removes what a crashed runner left behind.
/// </summary>
public sealed partial class ContainerRuntime
{
    private readonly RuntimeOptions _options;
    private readonly CgroupLayout _cgroups;
    private readonly ILogger _log;

    private readonly Networking.BridgedNetworks _networks;

    /// <summary>The runner-init that makes this runtime's containers (<see cref="RuntimeOptions.UseLauncher"/>), once started.</summary>
    private InitLauncher? _launcher;

    private readonly Lock _launcherLock = new();

    /// <summary>The launcher's process id while it lives (tests watch its descriptors and kill it).</summary>
    internal int? LauncherPid => _launcher is { IsAlive: true } launcher ? launcher.Pid : null;

    /// <summary>The runner-init this runtime runs (<see cref="RuntimeOptions.InitPath"/>, or the embedded one unpacked).</summary>
    private readonly string _initPath;

    private ContainerRuntime(RuntimeOptions options, string initPath, CgroupLayout cgroups, ILogger log)
    {
        _options = options;
        _initPath = initPath;
        _cgroups = cgroups;
        _log = log;
        _networks = new Networking.BridgedNetworks(options.Network);
    }

    public CgroupLayout Cgroups => _cgroups;

    public RuntimeOptions Options => _options;

    private string ContainersDirectory => Path.Combine(_options.StateDirectory, "c");

    /// <summary>Network namespace files, in a directory per owning runner process (n/PID).</summary>
    private string NetworksDirectory => Path.Combine(_options.StateDirectory, "n");

    /// <summary>Detects the host's cgroups, checks the helpers, and cleans up leftovers of dead runners.</summary>
    public static ContainerRuntime Create(RuntimeOptions? options = null, ILogger? log = null)
    {
        options ??= new RuntimeOptions();
        var initPath = options.InitPath ?? Files.EmbeddedFiles.Unpack(typeof(ContainerRuntime).Assembly, "runner-init", options.StateDirectory);
        if (!File.Exists(initPath))
        {
            throw new IsolationException($"runner-init not found at {initPath}");
        }

        if (Native.Libc.access(initPath, Native.Libc.XOk) != 0)
        {
            // runner-init is unpacked into the state directory: a noexec mount there would fail every container's start.
            throw new IsolationException($"runner-init cannot be executed from {initPath} ({Native.Libc.Describe(Native.Libc.LastError)}): " +
                "is its file system mounted noexec? The state directory (RUNNER_STATE_DIR) must allow executing files");
        }

        var runtime = new ContainerRuntime(options, initPath, CgroupLayout.Detect(), log ?? Serilog.Core.Logger.None);
        if (options.UseLauncher)
        {
            // Now, not at the first container: its start (an exec and a runtime's start-up, ~8 ms) runs on another core while the caller
            // cleans up leftovers, prepares the root file system, checks out, resolves images.
            runtime.Launcher();
        }

        Directory.CreateDirectory(runtime.ContainersDirectory);
        runtime.RemoveLeftovers();
        return runtime;
    }

    /// <summary>Makes a network namespace with loopback only, for several containers to share (see <see cref="ContainerNetwork.Shared"/>).</summary>
    public async Task<NetworkNamespace> CreateNetworkNamespaceAsync(CancellationToken cancellationToken = default) =>
        NetworkNamespace.LoopbackOnly(await NetworkNamespace.CreateFileAsync(OwnNetworksDirectory, cancellationToken));

    /// <summary>
    /// Makes a network namespace with a private address, egress through NAT, the host's reachable name servers,
    /// and <paramref name="ports"/> of the host forwarded to it; the host itself, other jobs and link-local
    /// addresses stay out of its reach unless <see cref="Networking.NetworkOptions.Allow"/> lets them.
    /// </summary>
    public async Task<NetworkNamespace> CreateBridgedNetworkAsync(IReadOnlyList<Networking.PortMapping> ports, CancellationToken cancellationToken = default)
    {
        var path = await NetworkNamespace.CreateFileAsync(OwnNetworksDirectory, cancellationToken);
        try
        {
            var address = await _networks.AttachAsync(path, ports, cancellationToken);
            return NetworkNamespace.Bridged(path, address, Networking.BridgedNetworks.Nameservers(), () => _networks.DetachAsync(path, CancellationToken.None));
        }
        catch
        {
            NetworkNamespace.Remove(path);
            throw;
        }
    }

    private string OwnNetworksDirectory => Path.Combine(NetworksDirectory, ProcessIdentity.Current.Token);

    /// <param name="killNow">When cancelled after <paramref name="cancellationToken"/>, the grace period is cut short: SIGKILL at once.</param>
    public async Task<ContainerResult> RunAsync(ContainerSpec spec, Action<OutputLine>? output = null, CancellationToken cancellationToken = default,
        CancellationToken killNow = default)
    {
        if (spec.Layers.Count == 0 || spec.Command.Count == 0)
        {
            throw new ArgumentException("a container needs at least one layer and a command", nameof(spec));
        }

        // Not RandomNumberGenerator: on Linux it loads OpenSSL, a few milliseconds of every `runner run`. Ids only need to be unique here.
        var id = Random.Shared.NextInt64(1L << 40).ToString("x10");
        var dir = Path.Combine(ContainersDirectory, id);
        var cgroup = ContainerCgroup.For(_cgroups, id, _options.CgroupParent);
        var started = DateTimeOffset.UtcNow;
        // 0700: the spec holds the command's environment, secrets included.
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            WriteFile(Path.Combine(dir, OwnerFile), Encoding.UTF8.GetBytes(ProcessIdentity.Current.Token));
            var init = Prepare(spec, dir, cgroup);
            cgroup.Create(spec.Limits);
            var (timedOut, tooBig) = await ExecuteAsync(spec, id, dir, output, cancellationToken, killNow);
            var stats = cgroup.ReadStats();
            var result = ReadResult(init.ResultFile);
            if (result.Error is { } error)
            {
                switch (result.Stage)
                {
                    case InitStage.Refused:
                        throw new ContainerSpecException(error);
                    case not InitStage.Exec:
                        throw new ContainerSetupException($"container set-up failed: {error}", result.Operation, result.Errno);
                }

                // A command that cannot be executed is the user's failure, reported like a shell does.
                output?.Invoke(new OutputLine(OutputStream.Stderr, $"runner: {error}", DateTimeOffset.UtcNow));
                result = new InitResult(127, null, null);
            }

            return new ContainerResult(result.ExitCode, result.Signal, stats.OomKills > 0, timedOut,
                DateTimeOffset.UtcNow - started, stats.CpuTime, stats.PeakMemoryBytes, spec.Limits, stats.ThrottledPeriods)
            {
                WritableLimitExceeded = tooBig,
                StartDuration = result.ExecutedAt is { } executed && DateTime.UnixEpoch.AddTicks(executed * 10) - started.UtcDateTime is var took && took > TimeSpan.Zero
                    ? took : null,
            };
        }
        finally
        {
            if (_options.DeferCleanup)
            {
                Defer(() => Cleanup(id, dir, cgroup, spec.UpperDirectory));
            }
            else
            {
                Cleanup(id, dir, cgroup, spec.UpperDirectory);
            }
        }
    }

    private InitSpec Prepare(ContainerSpec spec, string dir, ContainerCgroup cgroup)
    {
        var launched = _options.UseLauncher && !spec.Interactive;
        var output = LaunchedContainer.OutputPaths(dir);
        var upper = spec.UpperDirectory ?? Path.Combine(dir, "u");
        var work = spec.UpperDirectory is null ? Path.Combine(dir, "w") : spec.UpperDirectory.TrimEnd('/') + ".work";
        var root = Path.Combine(dir, "r");
        foreach (var d in (string[])[upper, work, root])
        {
            Directory.CreateDirectory(d);
        }

        var init = new InitSpec
        {
            LowerDirs = [InitLayer.For(_options.StateDirectory, spec), .. spec.Layers],
            UpperDir = upper,
            WorkDir = work,
            RootDirectory = root,
            ReadOnlyRoot = spec.ReadOnlyRoot,
            Mounts = spec.Mounts.Select(m => new InitMount(m.Source, m.Target, m.ReadOnly)).ToList(),
            Overlays = spec.OverlayVolumes.Select(o => new InitOverlay(o.Target, o.Lowers, o.Upper, o.Work)).ToList(),
            CgroupProcs = cgroup.ProcsFiles,
            NewCgroupNamespace = true,
            NewNetworkNamespace = spec.Network is ContainerNetwork.NoneNetwork,
            HostNetwork = spec.Network is ContainerNetwork.HostNetwork,
            NetworkNamespace = (spec.Network as ContainerNetwork.SharedNetwork)?.Namespace.Path,
            Hostname = spec.Hostname,
            Args = spec.Command,
            Env = spec.Env.Select(kv => $"{kv.Key}={kv.Value}").ToList(),
            WorkingDirectory = spec.WorkingDirectory,
            Uid = spec.Uid,
            Gid = spec.Gid,
            AdditionalGids = spec.AdditionalGids,
            Capabilities = DefaultCapabilities.Podman,
            DieWithRunner = !spec.Interactive, // the lifeline is runner-init's stdin, which an interactive command needs
            StdoutPath = launched ? output.Stdout : null,
            StderrPath = launched ? output.Stderr : null,
            Interactive = spec.Interactive,
            NoNewPrivileges = true,
            Init = spec.Init,
            ResultFile = Path.Combine(dir, "result.json"),
        };
        WriteFile(Path.Combine(dir, "spec.json"), JsonSerializer.SerializeToUtf8Bytes(init, InitJson.Default.InitSpec));
        // Room for the result, written now: runner-init writes over it, so a step that fills the disk still gets its own
        // status reported (JSON allows the trailing spaces).
        WriteFile(init.ResultFile, ResultRoom);
        return init;
    }

    /// <summary>One of the container's own files (0600, in its 0700 directory), in three system calls.</summary>
    private static void WriteFile(string path, byte[] bytes)
    {
        if (Native.Libc.WriteSmallFile(path, bytes, create: true) is not 0 and var errno)
        {
            throw new IOException($"cannot write {path}: {Native.Libc.Describe(errno)}", errno); // as .NET's: the errno is the HResult (a full disk is told as such)
        }
    }

    private static readonly byte[] ResultRoom = Enumerable.Repeat((byte)' ', 4096).ToArray();

    private static InitResult ReadResult(string file)
    {
        // Gone, or still the room the runtime left: runner-init was killed before it could report (timeout, SIGKILL), and the
        // command died with it.
        var killed = new InitResult(null, Native.Libc.SigKill, null);
        if (Native.Libc.ReadSmallFile(file) is not { } json)
        {
            return killed;
        }

        try
        {
            return JsonSerializer.Deserialize(json, InitJson.Default.InitResult) ?? new InitResult(null, null, "runner-init wrote an empty result");
        }
        catch (JsonException)
        {
            return killed;
        }
    }
}
