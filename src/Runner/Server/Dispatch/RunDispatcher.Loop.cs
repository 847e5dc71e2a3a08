using Ci.Runner.Engine.Queue;

namespace Ci.Runner.Server.Dispatch;

public sealed partial class RunDispatcher
{
    /// <summary>Claims what the limits allow whenever a hook arrives, a run ends, or a second passes (another server may share the queue).</summary>
    private async Task LoopAsync()
    {
        while (!_closing.IsCancellationRequested)
        {
            try
            {
                while (!_closing.IsCancellationRequested && ClaimNext() is { } claimed)
                {
                    StartRun(claimed);
                }
            }
            catch (Exception ex)
            {
                log.Error(ex, "Could not take the next run from the queue");
            }

            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), _closing.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private QueuedRun? ClaimNext()
    {
        Dictionary<string, int> perRepository;
        lock (_gate)
        {
            if (_active.Count >= config.RunsAtOnce)
            {
                return null;
            }

            perRepository = _active.Values.GroupBy(a => a.Run.Ticket.Repository).ToDictionary(g => g.Key, g => g.Count());
        }

        return queue.Claim(owner, repository =>
            executor.Repository(repository) is not { } repo
            || perRepository.GetValueOrDefault(repo.Name) < repo.RunsAtOnce);
    }

    private void StartRun(QueuedRun claimed)
    {
        var stop = new Engine.RunStop();
        lock (_gate)
        {
            var task = Task.Run(async () =>
            {
                try
                {
                    await executor.RunAsync(claimed, stop, () => IsRequeued(claimed.Id));
                }
                catch (Exception ex)
                {
                    log.Error(ex, "Run {Id} failed in the server", claimed.Id);
                    queue.Finish(claimed.Id, "error", $"the server failed: {ex.Message}");
                }
                finally
                {
                    lock (_gate)
                    {
                        _active.Remove(claimed.Id);
                    }

                    stop.Dispose();
                    Wake();
                }
            });
            _active[claimed.Id] = new ActiveRun(claimed, stop, task);
        }
    }

    private bool IsRequeued(long id)
    {
        lock (_gate)
        {
            return _active.TryGetValue(id, out var active) && active.Requeued;
        }
    }

    /// <summary>
    /// A SIGTERM: takes no more runs, gives the running ones <see cref="ServerConfig.ShutdownGrace"/>
    /// to end, then stops the rest and puts them back in the queue for the next start.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _closing.CancelAsync();
        if (_loop is { } loop)
        {
            await loop;
        }

        Task[] running;
        lock (_gate)
        {
            running = [.. _active.Values.Select(a => a.Task)];
        }

        if (running.Length > 0)
        {
            log.Information("Waiting up to {Grace} for {Count} running runs to end", config.ShutdownGrace, running.Length);
            await Task.WhenAny(Task.WhenAll(running), Task.Delay(config.ShutdownGrace, cancellationToken));
        }

        lock (_gate)
        {
            foreach (var active in _active.Values)
            {
                active.Requeued = true;
                queue.Requeue(active.Run.Id, "queued again: the server stopped before this run ended");
                active.Stop.Kill();
            }

            running = [.. _active.Values.Select(a => a.Task)];
        }

        await Task.WhenAll(running);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_closing.IsCancellationRequested)
        {
            await StopAsync();
        }

        _closing.Dispose();
        _wake.Dispose();
    }
}
