using Ci.Isolation.Native;

namespace Ci.Isolation.Containers;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Has the container made by its monitor (<see cref="Monitor"/>: the runtime's launcher, or a runner-init process of its
    /// own), which makes its namespaces, starts its PID 1 in a new PID namespace and watches it from outside, and waits for
    /// it, streaming output line by line. On timeout or cancellation: SIGTERM to PID 1, then, after the grace period, SIGKILL,
    /// which takes the namespace with it; the cgroup is killed after.
    /// </summary>
    /// <returns>Whether the timeout stopped it, and the writable-layer limit when that did; the command's own status is in runner-init's result file.</returns>
    private async Task<(bool TimedOut, long? WritableLimitExceeded)> ExecuteAsync(ContainerSpec spec, string id, string dir, Action<OutputLine>? output,
        CancellationToken cancellationToken, CancellationToken killNow)
    {
        // runner-init's own process rewrites its command line to "init spec.json" (the launcher's is "init"), so that PID 1 (its
        // clone, under --init) shows no host path.
        string[] args = [Path.Combine(dir, "spec.json")];
        if (spec.Interactive)
        {
            return (await ExecuteInteractiveAsync(spec, dir, args, cancellationToken, killNow), null);
        }

        var init = Monitor(id, dir, args[0], output);
        var timedOut = false;
        long? exceeded = null;
        using var timeout = spec.Timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        using var tooBig = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken, tooBig.Token);
        var watch = (spec.WritableLimitBytes ?? _options.WritableLimitBytes) is { } limit
            ? WritableLayerWatch.Start(spec.UpperDirectory ?? Path.Combine(dir, "u"), limit, () =>
            {
                exceeded = limit;
                tooBig.Cancel();
            })
            : null;
        await using var registration = stop.Token.Register(() =>
        {
            timedOut = timeout.IsCancellationRequested;
            _log.Debug("Stopping container {Dir}: SIGTERM, then SIGKILL after {Grace}", dir, spec.StopGracePeriod);
            init.Terminate();
            init.KillAfter(spec.StopGracePeriod);
        });
        await using var kill = killNow.Register(init.Kill);

        try
        {
            await init.Ended;
        }
        catch (OperationCanceledException)
        {
            // Stopped: by the timeout, the caller, or the writable-layer limit.
        }
        finally
        {
            init.Release();

            if (watch is not null)
            {
                await watch.DisposeAsync();
            }
        }

        return (timedOut, exceeded);
    }

    /// <summary>
    /// The container's monitor: a container of the runtime's launcher (<see cref="RuntimeOptions.UseLauncher"/>, started on first
    /// use and again if it died), or a runner-init process of its own.
    /// </summary>
    private IContainerMonitor Monitor(string id, string dir, string specPath, Action<OutputLine>? output)
    {
        if (!_options.UseLauncher)
        {
            return InitProcess.Start(_initPath, specPath, output);
        }

        return LaunchedContainer.Start(Launcher(), id, dir, specPath, output);
    }

    /// <summary>The runtime's launcher: started with the runtime (so that its start overlaps the caller's preparation), and again if it died.</summary>
    private InitLauncher Launcher()
    {
        lock (_launcherLock)
        {
            if (_launcher is not { IsAlive: true })
            {
                _launcher?.Release();
                _launcher = InitLauncher.Start(_initPath, _log);
            }

            return _launcher;
        }
    }

    /// <summary>As <see cref="ExecuteAsync"/>, with the runner's own stdin, stdout and stderr inherited (CliWrap always pipes them).</summary>
    private async Task<bool> ExecuteInteractiveAsync(ContainerSpec spec, string dir, string[] args, CancellationToken cancellationToken, CancellationToken killNow)
    {
        var start = new System.Diagnostics.ProcessStartInfo(_initPath, args) { UseShellExecute = false, WorkingDirectory = dir };
        using var process = System.Diagnostics.Process.Start(start) ?? throw new IsolationException("cannot start runner-init");
        var timedOut = false;
        using var timeout = spec.Timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using var forceful = new CancellationTokenSource();
        await using var polite = stop.Token.Register(() =>
        {
            timedOut = timeout.IsCancellationRequested;
            _ = Libc.kill(process.Id, Libc.SigTerm);
            forceful.CancelAfter(spec.StopGracePeriod);
        });
        await using var kill = killNow.Register(forceful.Cancel);
        await using var hard = forceful.Token.Register(() => _ = Libc.kill(process.Id, Libc.SigKill));
        await process.WaitForExitAsync(CancellationToken.None);
        return timedOut;
    }
}
