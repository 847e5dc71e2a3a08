namespace Ci.Isolation.Containers;

/// <summary>Where the runtime keeps its state and finds its helpers.</summary>
public sealed record RuntimeOptions
{
    /// <summary>Per-container directories (<c>c/ID</c>) live here; short paths keep overlay options within a page.</summary>
    public string StateDirectory { get; init; } = "/var/lib/runner";

    /// <summary>The runner-init binary to run; null (the default): the one embedded in Ci.Isolation, unpacked into <see cref="StateDirectory"/> on first use.</summary>
    public string? InitPath { get; init; }

    /// <summary>The runtime's parent cgroup (under each hierarchy's root); separate installations or test runs use separate ones.</summary>
    public string CgroupParent { get; init; } = Cgroups.ContainerCgroup.DefaultParent;

    /// <summary>
    /// Remove a finished container's cgroups and directories in the background, off the path to
    /// the next container (they take a few milliseconds). The caller must then call
    /// <see cref="ContainerRuntime.DrainAsync"/> before it exits or removes what those containers used.
    /// </summary>
    public bool DeferCleanup { get; init; }

    /// <summary>
    /// Make every container (but interactive ones) from one long-lived runner-init, the launcher, each on a thread of its
    /// own, instead of a runner-init process per container: no container pays a process start (an exec and the .NET
    /// runtime's, about a third of a container's CPU on a small machine), and one monitor's memory serves them all. For a
    /// runtime that runs many containers (a pipeline's steps, a server); the launcher exits when the runner does.
    /// </summary>
    public bool UseLauncher { get; init; }

    /// <summary>
    /// What a container may write into its writable layer (bytes); past it, it is stopped as on a
    /// timeout and its result says so. Null: no limit. A spec may set its own.
    /// </summary>
    public long? WritableLimitBytes { get; init; }

    /// <summary>Bridged networks: the subnet, the CNI plugins, the guard's exceptions.</summary>
    public Networking.NetworkOptions Network { get; init; } = new();
}
