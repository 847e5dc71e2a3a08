namespace Ci.Isolation.Containers;

public enum OutputStream
{
    Stdout,
    Stderr,
}

/// <summary>A line the container printed, with the time the runtime received it.</summary>
public readonly record struct OutputLine(OutputStream Stream, string Text, DateTimeOffset Timestamp);

/// <summary>
/// How a container ended. A failing command is a result, not an exception: exit code or signal,
/// whether the kernel's OOM killer struck (from the cgroup's oom_kill counter), whether the
/// timeout fired, and what it used (CPU time, peak memory, CFS periods in which the CPU quota
/// throttled it).
/// </summary>
public sealed record ContainerResult(
    int? ExitCode,
    int? Signal,
    bool OomKilled,
    bool TimedOut,
    TimeSpan WallTime,
    TimeSpan CpuTime,
    long PeakMemoryBytes,
    ContainerLimits Limits,
    long ThrottledPeriods = 0)
{
    /// <summary>The shell's view of the end: the exit code, or 128 + the signal.</summary>
    public int ShellExitCode => ExitCode ?? 128 + (Signal ?? 0);

    /// <summary>Set when the container was stopped for writing more than its writable-layer limit (this many bytes).</summary>
    public long? WritableLimitExceeded { get; init; }

    /// <summary>From the runtime's start of the container to its command's successful execve (null when runner-init did not say).</summary>
    public TimeSpan? StartDuration { get; init; }

    public bool Succeeded => ExitCode == 0 && !OomKilled && !TimedOut && WritableLimitExceeded is null;
}
