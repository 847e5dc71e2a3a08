using CliWrap;
using Ci.Isolation.Native;

namespace Ci.Isolation.Containers;

/// <summary>
/// One runner-init process, the monitor of one container (<c>runner run</c>, and every runtime that does not use the
/// <see cref="InitLauncher"/>). Its stdin is the lifeline; its stdout and stderr are the container's, line by line.
/// </summary>
internal sealed class InitProcess : IContainerMonitor
{
    private readonly Lifeline _lifeline = new();
    private readonly CancellationTokenSource _forceful = new();
    private readonly CommandTask<CommandResult> _task;

    private InitProcess(string initPath, string specPath, Action<OutputLine>? output)
    {
        _task = Cli.Wrap(initPath)
            .WithArguments([specPath])
            .WithWorkingDirectory("/")
            .WithStandardInputPipe(_lifeline.Source)
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line => output?.Invoke(new OutputLine(OutputStream.Stdout, line, DateTimeOffset.UtcNow))))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => output?.Invoke(new OutputLine(OutputStream.Stderr, line, DateTimeOffset.UtcNow))))
            .ExecuteAsync(_forceful.Token);
    }

    /// <summary>Ends when runner-init has exited and its output is read; cancelled by <see cref="Kill"/>.</summary>
    public Task Ended => _task.Task;

    /// <summary>runner-init for the container whose spec is at <paramref name="specPath"/>.</summary>
    public static InitProcess Start(string initPath, string specPath, Action<OutputLine>? output) => new(initPath, specPath, output);

    /// <summary>SIGTERM to runner-init, which forwards it to PID 1.</summary>
    public void Terminate() => _ = Libc.kill(_task.ProcessId, Libc.SigTerm);

    /// <summary>SIGKILL to runner-init, whose death kills the container's PID 1 and with it the namespace.</summary>
    public void Kill() => _forceful.Cancel();

    public void KillAfter(TimeSpan delay) => _forceful.CancelAfter(delay);

    /// <summary>Closes the lifeline: a runner-init still running its container kills it.</summary>
    public void Release() => _lifeline.Dispose();
}
