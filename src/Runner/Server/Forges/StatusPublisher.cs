using Serilog;

namespace Ci.Runner.Server.Forges;

/// <summary>
/// Posts commit statuses in the background, each one in order per commit and context, retrying
/// a forge that fails with back-off (1 s, 2 s, 4 s … up to <see cref="MaxAttempts"/> tries).
/// While a post is being retried, the statuses that came after it wait; when it fails, only the
/// newest of them is posted next, so a forge that was down gets the commit's latest state when it
/// is back, not a replay. Never blocks or fails the run that posts.
/// </summary>
public sealed class StatusPublisher(HttpClient http, ILogger log, TimeSpan? firstDelay = null) : ICommitStatuses, IAsyncDisposable
{
    public const int MaxAttempts = 8;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<CommitStatus>> _pending = [];
    private readonly List<Task> _drains = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _firstDelay = firstDelay ?? TimeSpan.FromSeconds(1);

    /// <summary>Statuses posted and given up on, for /metrics.</summary>
    public long Posted => Interlocked.Read(ref _posted);

    public long Failed => Interlocked.Read(ref _failed);

    private long _posted, _failed;

    public void Post(CommitStatus status)
    {
        if (status.Repository.Status is null)
        {
            return;
        }

        lock (_gate)
        {
            if (_pending.TryGetValue(status.Key, out var waiting))
            {
                waiting.Enqueue(status);
            }
            else
            {
                _pending[status.Key] = new Queue<CommitStatus>([status]);
                _drains.RemoveAll(t => t.IsCompleted);
                _drains.Add(Task.Run(() => DrainAsync(status.Key)));
            }
        }
    }

    private async Task DrainAsync(string key)
    {
        while (true)
        {
            CommitStatus next;
            lock (_gate)
            {
                if (!_pending[key].TryDequeue(out var first))
                {
                    _pending.Remove(key);
                    return;
                }

                next = first;
            }

            await SendAsync(next, key);
        }
    }

    private async Task SendAsync(CommitStatus status, string key)
    {
        var delay = _firstDelay;
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                using var request = ForgeStatusRequests.Create(status);
                using var response = await http.SendAsync(request, _stop.Token);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _posted);
                    log.Debug("Posted {State} for {Repository}@{Commit} ({Context})", status.State, status.Repository.Name, status.Commit[..12], status.Context);
                    return;
                }

                failure = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                if ((int)response.StatusCode is >= 400 and < 500 and not 408 and not 429)
                {
                    attempt = MaxAttempts; // a refused token or a wrong API URL does not heal by itself
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                failure = ex.Message;
            }

            lock (_gate)
            {
                if (_pending.TryGetValue(key, out var newer) && newer.Count > 0)
                {
                    // A newer state replaces this one and all between: post the newest instead.
                    var newest = newer.Last();
                    newer.Clear();
                    newer.Enqueue(newest);
                    return;
                }
            }

            if (attempt >= MaxAttempts)
            {
                Interlocked.Increment(ref _failed);
                log.Warning("Could not post the {State} status of {Repository}@{Commit} to {Api}: {Failure}; gave up after {Attempts} tries",
                    status.State, status.Repository.Name, status.Commit[..12], status.Repository.Status!.ApiUrl, failure, attempt);
                return;
            }

            log.Information("Posting the {State} status of {Repository}@{Commit} failed ({Failure}); trying again in {Delay}",
                status.State, status.Repository.Name, status.Commit[..12], failure, delay);
            try
            {
                await Task.Delay(delay, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(2).Ticks));
        }
    }

    /// <summary>Waits for what is being posted (a few seconds at most), then stops the retries.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] drains;
        lock (_gate)
        {
            drains = [.. _drains];
        }

        await Task.WhenAny(Task.WhenAll(drains), Task.Delay(TimeSpan.FromSeconds(5)));
        await _stop.CancelAsync();
        _stop.Dispose();
    }

    /// <summary>For tests and shutdown: waits until every status so far is posted or given up.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task[] drains;
            lock (_gate)
            {
                drains = [.. _drains.Where(t => !t.IsCompleted)];
            }

            if (drains.Length == 0)
            {
                return;
            }

            await Task.WhenAll(drains).WaitAsync(cancellationToken);
        }
    }
}
