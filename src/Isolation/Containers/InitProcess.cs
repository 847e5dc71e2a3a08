using System.Text;
using CliWrap;

namespace Ci.Isolation.Containers;

/// <summary>
/// One runner-init process, the monitor of one container: started with its spec, or ahead of
/// its container (<see cref="StartAhead"/>), when it loads and waits for the spec's path on its
/// stdin, so that its start (an exec and the .NET runtime's, about a third of a container's) is
/// off the next container's path. Its stdin is the lifeline; its stdout and stderr are the
/// container's, line by line, to the output given when it is handed its container.
/// </summary>
internal sealed class InitProcess
{
    private readonly LifelineStream _lifeline = new();
    private readonly CancellationTokenSource _forceful = new();
    private readonly CommandTask<CommandResult> _task;
    private volatile Action<OutputLine>? _output;
    private int _claimed;

    private InitProcess(string initPath, string argument, Action<OutputLine>? output)
    {
        _output = output;
        _task = Cli.Wrap(initPath)
            .WithArguments([argument])
            .WithWorkingDirectory("/")
            .WithStandardInputPipe(PipeSource.FromStream(_lifeline))
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line => _output?.Invoke(new OutputLine(OutputStream.Stdout, line, DateTimeOffset.UtcNow))))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => _output?.Invoke(new OutputLine(OutputStream.Stderr, line, DateTimeOffset.UtcNow))))
            .ExecuteAsync(_forceful.Token);
    }

    public int Pid => _task.ProcessId;

    /// <summary>Ends when runner-init has exited and its output is read; cancelled by <see cref="Kill"/>.</summary>
    public Task Exited => _task.Task;

    /// <summary>runner-init for the container whose spec is at <paramref name="specPath"/>.</summary>
    public static InitProcess Start(string initPath, string specPath, Action<OutputLine>? output) => new(initPath, specPath, output)
    {
        _claimed = 1,
    };

    /// <summary>runner-init for a container not yet known: it waits for <see cref="TryRun"/>.</summary>
    public static InitProcess StartAhead(string initPath) => new(initPath, "-", null);

    /// <summary>Hands this init its container; false when it cannot take one (already used, or it has ended).</summary>
    public bool TryRun(string specPath, Action<OutputLine>? output)
    {
        if (Interlocked.Exchange(ref _claimed, 1) == 1 || _task.Task.IsCompleted)
        {
            return false;
        }

        _output = output;
        return _lifeline.Send(Encoding.UTF8.GetBytes(specPath + "\n"));
    }

    /// <summary>SIGKILL to runner-init, whose death kills the container's PID 1 and with it the namespace.</summary>
    public void Kill() => _forceful.Cancel();

    /// <summary><see cref="Kill"/> after <paramref name="delay"/>, unless it has exited by then.</summary>
    public void KillAfter(TimeSpan delay) => _forceful.CancelAfter(delay);

    /// <summary>Closes the lifeline: an init still waiting for its container exits; one running a container kills it.</summary>
    public void Release() => _lifeline.Dispose();
}
