namespace Ci.Isolation.Containers;

/// <summary>Which network namespace a container runs in.</summary>
public abstract record ContainerNetwork
{
    private ContainerNetwork()
    {
    }

    /// <summary>A new namespace of its own, with loopback only (up).</summary>
    public static ContainerNetwork None { get; } = new NoneNetwork();

    /// <summary>The host's network namespace.</summary>
    public static ContainerNetwork Host { get; } = new HostNetwork();

    /// <summary>A namespace created once and shared, e.g. by every step and service of a job.</summary>
    public static ContainerNetwork Shared(NetworkNamespace ns) => new SharedNetwork(ns);

    public sealed record NoneNetwork : ContainerNetwork;

    public sealed record HostNetwork : ContainerNetwork;

    public sealed record SharedNetwork(NetworkNamespace Namespace) : ContainerNetwork;
}

/// <summary>A bind mount of a host path into the container.</summary>
public sealed record BindMount(string Source, string Target, bool ReadOnly = false);

/// <summary>
/// A directory assembled inside the container as an overlay of read-only layers (top first) and
/// a writable upper directory that outlives the container: a job's directory cache, whose
/// stored versions are never written and whose changes can be kept as a new layer.
/// </summary>
public sealed record OverlayVolume(string Target, IReadOnlyList<string> Lowers, string Upper, string Work)
{
    /// <summary>Gives the volume's top directory to a user, as a directory the user made would be (for a volume that starts empty).</summary>
    public void GiveTo(uint uid, uint gid) =>
        Native.Libc.Check(Native.Libc.lchown(Upper, uid, gid), $"chown {Upper} (the volume at {Target}) to {uid}:{gid}");
}

/// <summary>
/// Limits applied through cgroups before the command runs. Null means unlimited. <see cref="CpuShares"/>
/// is the relative weight under contention, in v1 units (2 to 262144, 1024 by default); on v2 it is
/// converted to cpu.weight as runc and crun do.
/// </summary>
public sealed record ContainerLimits(int? MilliCpus = null, long? MemoryBytes = null, long? SwapBytes = null, int? Pids = null, int? CpuShares = null);

/// <summary>
/// One container: its root file system (read-only layers, top first, with a fresh writable
/// layer on top), mounts, process and limits. The runtime never writes into a layer.
/// </summary>
public sealed record ContainerSpec
{
    /// <summary>Read-only directories stacked as the root, the top one first. At least one.</summary>
    public required IReadOnlyList<string> Layers { get; init; }

    public required IReadOnlyList<string> Command { get; init; }

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public string WorkingDirectory { get; init; } = "/";

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];

    public string Hostname { get; init; } = "runner";

    /// <summary>More names for /etc/hosts (name to address): a job's services by their aliases.</summary>
    public IReadOnlyDictionary<string, string> ExtraHosts { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<BindMount> Mounts { get; init; } = [];

    public IReadOnlyList<OverlayVolume> OverlayVolumes { get; init; } = [];

    public ContainerLimits Limits { get; init; } = new();

    public ContainerNetwork Network { get; init; } = ContainerNetwork.None;

    public bool ReadOnlyRoot { get; init; }

    /// <summary>
    /// False: the command is PID 1 (docker run); a PID 1 without a SIGTERM handler ignores the
    /// polite stop, so only the grace period's SIGKILL ends it. True: a minimal init is PID 1,
    /// forwards signals to the command and reaps orphans (docker run --init).
    /// </summary>
    public bool Init { get; init; }

    /// <summary>
    /// The command gets the runner's own stdin, stdout and stderr (a terminal, for a debugging
    /// shell) instead of pipes; its output is then not streamed to the caller, and a killed runner
    /// leaves it running until it exits (the next start cleans up).
    /// </summary>
    public bool Interactive { get; init; }

    /// <summary>Wall-clock limit; then SIGTERM, <see cref="StopGracePeriod"/>, SIGKILL of everything in the container.</summary>
    public TimeSpan? Timeout { get; init; }

    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the writable layer goes; it is kept after the container ends (a step's result becomes
    /// a layer). Null: a fresh one in the runtime's state directory, removed at the end.
    /// </summary>
    public string? UpperDirectory { get; init; }

    /// <summary>What the container may write into its writable layer (bytes); null: the runtime's default (<see cref="RuntimeOptions.WritableLimitBytes"/>).</summary>
    public long? WritableLimitBytes { get; init; }
}
