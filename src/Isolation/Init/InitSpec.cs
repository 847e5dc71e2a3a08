namespace Ci.Isolation.Init;

// The contract between the runtime (which writes it) and runner-init (which reads it). This file
// is compiled into both, so the two cannot drift apart.

/// <summary>A bind mount into the container.</summary>
public sealed record InitMount(string Source, string Target, bool ReadOnly);

/// <summary>An overlay of read-only layers (top first) and a writable upper directory, mounted at a path in the container.</summary>
public sealed record InitOverlay(string Target, IReadOnlyList<string> Lowers, string Upper, string Work);

/// <summary>What runner-init sets up, in the order it does it.</summary>
public sealed record InitSpec
{
    /// <summary>Read-only lower layers, top first; empty when <see cref="RootDirectory"/> is used as is.</summary>
    public IReadOnlyList<string> LowerDirs { get; init; } = [];

    public string? UpperDir { get; init; }

    public string? WorkDir { get; init; }

    /// <summary>Where the root file system is assembled (the overlay mount point, or a plain root directory).</summary>
    public required string RootDirectory { get; init; }

    public bool ReadOnlyRoot { get; init; }

    public IReadOnlyList<InitMount> Mounts { get; init; } = [];

    public IReadOnlyList<InitOverlay> Overlays { get; init; } = [];

    /// <summary>cgroup.procs files to join before anything else (one per v1 hierarchy, or one on v2).</summary>
    public IReadOnlyList<string> CgroupProcs { get; init; } = [];

    public bool NewCgroupNamespace { get; init; }

    /// <summary>A network namespace of the container's own, with only loopback (network: none).</summary>
    public bool NewNetworkNamespace { get; init; }

    /// <summary>True when the network namespace is shared with the host: /sys is then bound, not mounted.</summary>
    public bool HostNetwork { get; init; }

    /// <summary>A network namespace file (a bind mount of nsfs) to join; shared by a job's containers.</summary>
    public string? NetworkNamespace { get; init; }

    public string Hostname { get; init; } = "runner";

    public required IReadOnlyList<string> Args { get; init; }

    public IReadOnlyList<string> Env { get; init; } = [];

    public string WorkingDirectory { get; init; } = "/";

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];

    /// <summary>Capability numbers the command keeps (bounding, permitted, effective); all others are dropped.</summary>
    public IReadOnlyList<int> Capabilities { get; init; } = [];

    public bool NoNewPrivileges { get; init; } = true;

    /// <summary>
    /// False: the command is PID 1 of its namespace (docker run). True: a minimal init is PID 1,
    /// forwards signals and reaps orphans, and the command is PID 2 (docker run --init).
    /// </summary>
    public bool Init { get; init; }

    /// <summary>
    /// The runtime holds the write end of runner-init's stdin: end of file means the runner died,
    /// and the container is killed at once. The command's own stdin is /dev/null.
    /// </summary>
    public bool DieWithRunner { get; init; }

    /// <summary>
    /// The command shares the runner's terminal: it keeps stdin, stdout and stderr as given, and
    /// stays in the runner's session (no setsid, so no stealing of the controlling terminal).
    /// </summary>
    public bool Interactive { get; init; }

    /// <summary>
    /// Where the command's stdout and stderr go: FIFOs the runtime made and reads (a launcher serves many containers, so its
    /// own are no container's). Null: runner-init's own stdout and stderr, which the runtime reads.
    /// </summary>
    public string? StdoutPath { get; init; }

    /// <inheritdoc cref="StdoutPath"/>
    public string? StderrPath { get; init; }

    /// <summary>Where runner-init writes its <see cref="InitResult"/> (opened before pivot_root).</summary>
    public required string ResultFile { get; init; }
}

/// <summary>How the command ended, or why it could not start.</summary>
/// <summary>
/// How a container ended, as runner-init reports it: the command's exit code or signal, or why it
/// could not start. A failure keeps its structure across the process boundary:
/// <see cref="Stage"/> says whose it is (<see cref="InitStage"/>), <see cref="Operation"/> and
/// <see cref="Errno"/> say which call failed, and <see cref="Error"/> is the sentence a person reads.
/// </summary>
public sealed record InitResult(int? ExitCode, int? Signal, string? Error)
{
    public string? Stage { get; init; }

    public string? Operation { get; init; }

    public int? Errno { get; init; }

    /// <summary>When the command's execve succeeded, in microseconds since the Unix epoch: the end of the container's start.</summary>
    public long? ExecutedAt { get; init; }
}

/// <summary>Where a container's start failed.</summary>
public static class InitStage
{
    /// <summary>The spec cannot be set up in this image through no fault of the host (a mount target behind a link).</summary>
    public const string Refused = "refused";

    /// <summary>The command cannot be executed (not found, not executable): the user's failure, reported as a shell does (127).</summary>
    public const string Exec = "exec";

    /// <summary>The host failed to make the container (a namespace, a mount, a cgroup).</summary>
    public const string Setup = "setup";
}
