namespace Ci.Runner.Engine;

/// <summary>
/// How a run is stopped, owned by the host that started it (the CLI maps Ctrl-C to it, the server
/// a cancel button): <see cref="Stop"/> asks politely (steps get SIGTERM and their grace period,
/// jobs finish, always() steps still run), <see cref="Kill"/> stops at once. The engine stops a
/// run itself for --fail-fast or when a backend fails unexpectedly, and says why.
/// </summary>
public sealed class RunStop : IDisposable
{
    private readonly CancellationTokenSource _graceful = new();
    private readonly CancellationTokenSource _forceful = new();
    private volatile string? _because;

    /// <summary>Cancelled by the first stop, whoever asked.</summary>
    public CancellationToken Graceful => _graceful.Token;

    /// <summary>Cancelled when a stop must not wait for grace periods or clean-up.</summary>
    public CancellationToken KillNow => _forceful.Token;

    /// <summary>Whether the host asked for the stop (the run is then "cancelled"), not the engine.</summary>
    public bool ByHost { get; private set; }

    /// <summary>Why jobs and steps were left out or cut short, for their results.</summary>
    public string Reason => _because ?? "the run was stopped";

    /// <summary>What a step the stop cut short says.</summary>
    public string StepReason => _because is { } why ? $"stopped: {why}" : "stopped";

    public void Stop()
    {
        ByHost = true;
        _graceful.Cancel();
    }

    public void Kill()
    {
        Stop();
        _forceful.Cancel();
    }

    /// <summary>The engine's own stop; the first reason is kept.</summary>
    internal void StopBecause(string reason)
    {
        if (!_graceful.IsCancellationRequested)
        {
            _because = reason;
            _graceful.Cancel();
        }
    }

    public void Dispose()
    {
        _graceful.Dispose();
        _forceful.Dispose();
    }
}
