namespace Ci.Isolation.Containers;

/// <summary>What the runtime holds of a running container's monitor: runner-init's own process, or a container of the launcher.</summary>
internal interface IContainerMonitor
{
    /// <summary>Ends when the container has ended and its output is read; cancelled (for a process) by <see cref="Kill"/>.</summary>
    Task Ended { get; }

    /// <summary>SIGTERM to the container's PID 1.</summary>
    void Terminate();

    /// <summary>SIGKILL to the container's PID 1, which takes its namespace with it.</summary>
    void Kill();

    /// <summary><see cref="Kill"/> after <paramref name="delay"/>, unless it has ended by then.</summary>
    void KillAfter(TimeSpan delay);

    /// <summary>Lets go of it once it has ended.</summary>
    void Release();
}
