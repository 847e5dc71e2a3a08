namespace Ci.Isolation.Containers;

public enum ContainerNetwork
{
    /// <summary>A new network namespace with loopback only.</summary>
    None,

    /// <summary>The host's network namespace.</summary>
    Host,
}

/// <summary>A bind mount of a host path into the container.</summary>
public sealed record BindMount(string Source, string Target, bool ReadOnly = false);

/// <summary>Limits applied through cgroups before the command runs. Null means unlimited.</summary>
public sealed record ContainerLimits(int? MilliCpus = null, long? MemoryBytes = null, long? SwapBytes = null, int? Pids = null);

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

    public IReadOnlyList<BindMount> Mounts { get; init; } = [];

    public ContainerLimits Limits { get; init; } = new();

    public ContainerNetwork Network { get; init; } = ContainerNetwork.None;

    public bool ReadOnlyRoot { get; init; }

    /// <summary>Wall-clock limit; then SIGTERM, <see cref="StopGracePeriod"/>, SIGKILL of everything in the container.</summary>
    public TimeSpan? Timeout { get; init; }

    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the writable layer goes; it is kept after the container ends (a step's result becomes
    /// a layer). Null: a fresh one in the runtime's state directory, removed at the end.
    /// </summary>
    public string? UpperDirectory { get; init; }
}
