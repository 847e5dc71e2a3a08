using System.Collections.Concurrent;
using System.Text;
using CliWrap;
using Serilog;

namespace Ci.Isolation.Containers;

/// <summary>
/// The runtime's side of runner-init --serve (see runner-init's Launcher): one long-lived runner-init that makes every
/// container of the runtime, so that no container pays a process start. Requests go down its stdin, which is also the
/// lifeline (when the runner dies the pipe closes and every container is killed); <c>done ID</c> answers come up its stdout;
/// its stderr is logged.
/// </summary>
internal sealed class InitLauncher
{
    private readonly Lifeline _requests = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _waiting = new(StringComparer.Ordinal);
    private readonly CommandTask<CommandResult> _process;
    private volatile bool _exited;

    private InitLauncher(string initPath, ILogger log)
    {
        _process = Cli.Wrap(initPath)
            .WithArguments(["--serve"])
            .WithWorkingDirectory("/")
            .WithStandardInputPipe(_requests.Source)
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(Answered))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => log.Warning("runner-init: {Line}", line)))
            .ExecuteAsync();
        _ = _process.Task.ContinueWith(_ => Exited(), TaskScheduler.Default);
    }

    public int Pid => _process.ProcessId;

    /// <summary>Whether it still takes containers (it has not exited).</summary>
    public bool IsAlive => !_exited;

    public static InitLauncher Start(string initPath, ILogger log) => new(initPath, log);

    /// <summary>
    /// Has the launcher make the container whose spec is at <paramref name="specPath"/>; ends when its result file is written
    /// (true), or when the launcher died first (false: its PID 1 was killed with it).
    /// </summary>
    public Task<bool> RunAsync(string id, string specPath)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = done;
        // Exited sets _exited before it answers the waiting: either it answers this one, or this sees it exited.
        if ((!_requests.Send(Encoding.UTF8.GetBytes($"run {id} {specPath}\n")) || _exited) && _waiting.TryRemove(id, out _))
        {
            done.TrySetResult(false);
        }

        return done.Task;
    }

    /// <summary>Sends <paramref name="signal"/> to the container's PID 1 (held by the launcher until PID 1 exists).</summary>
    public void Signal(string id, int signal) => _requests.Send(Encoding.UTF8.GetBytes($"signal {id} {signal}\n"));

    /// <summary>Closes its stdin: it kills what still runs and exits.</summary>
    public void Release() => _requests.Dispose();

    private void Answered(string line)
    {
        if (line.StartsWith("done ", StringComparison.Ordinal) && _waiting.TryRemove(line[5..], out var done))
        {
            done.TrySetResult(true);
        }
    }

    private void Exited()
    {
        _exited = true;
        foreach (var id in _waiting.Keys)
        {
            if (_waiting.TryRemove(id, out var done))
            {
                done.TrySetResult(false);
            }
        }
    }
}
