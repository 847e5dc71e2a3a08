using CliWrap;
using Ci.Isolation.Native;

namespace Ci.Isolation.Containers;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Starts unshare → runner-init and waits for it, streaming output line by line. On timeout or
    /// cancellation: SIGTERM to the container's init (which forwards it), then, after the grace
    /// period, SIGKILL (unshare's --kill-child takes init, and with it the whole PID namespace).
    /// </summary>
    /// <returns>Whether the timeout stopped it; the command's own status is in runner-init's result file.</returns>
    private async Task<bool> ExecuteAsync(ContainerSpec spec, string dir, Action<OutputLine>? output,
        CancellationToken cancellationToken)
    {
        List<string> args = ["--fork", "--pid", "--mount", "--uts", "--ipc", "--propagation", "private", "--kill-child"];
        if (spec.Network is ContainerNetwork.NoneNetwork)
        {
            args.Add("--net");
        }

        args.AddRange(["--", _options.InitPath, Path.Combine(dir, "spec.json")]);
        using var forceful = new CancellationTokenSource();
        using var lifeline = new LifelineStream();
        var command = Cli.Wrap(_options.UnsharePath)
            .WithArguments(args)
            .WithStandardInputPipe(PipeSource.FromStream(lifeline))
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line => output?.Invoke(new OutputLine(OutputStream.Stdout, line, DateTimeOffset.UtcNow))))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => output?.Invoke(new OutputLine(OutputStream.Stderr, line, DateTimeOffset.UtcNow))));

        var task = command.ExecuteAsync(forceful.Token);
        var unsharePid = task.ProcessId;
        var timedOut = false;
        using var timeout = spec.Timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        await using var registration = stop.Token.Register(() =>
        {
            timedOut = timeout.IsCancellationRequested;
            _log.Debug("Stopping container {Dir}: SIGTERM, then SIGKILL after {Grace}", dir, spec.StopGracePeriod);
            if (InitPid(unsharePid) is { } initPid)
            {
                _ = Libc.kill(initPid, Libc.SigTerm);
            }

            forceful.CancelAfter(spec.StopGracePeriod);
        });

        try
        {
            await task;
            return timedOut;
        }
        catch (OperationCanceledException)
        {
            return timedOut;
        }
    }

    /// <summary>The host pid of the container's init: unshare's only child.</summary>
    private static int? InitPid(int unsharePid)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                var children = File.ReadAllText($"/proc/{unsharePid}/task/{unsharePid}/children").Trim();
                if (children.Length > 0 && int.TryParse(children.Split(' ')[0], out var pid))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                return null;
            }

            Thread.Sleep(2);
        }

        return null;
    }
}
