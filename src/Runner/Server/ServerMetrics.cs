using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Ci.Runner.Engine;

namespace Ci.Runner.Server;

/// <summary>
/// The server's counters, rendered in Prometheus' text exposition format at /metrics: hooks
/// received (by forge and event) and rejected (by reason), runs queued, started and ended (by
/// status), how long runs waited in the queue and took, steps' durations, their containers' start
/// durations and cache hits. Queue
/// depth is read from the queue when scraped. Thread-safe; counting costs an interlocked add.
/// </summary>
public sealed class ServerMetrics
{
    private static readonly double[] WaitBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
    private static readonly double[] StepBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

    private readonly ConcurrentDictionary<(string Forge, string Event), long> _hooks = new();
    private readonly ConcurrentDictionary<string, long> _rejected = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _runs = new(StringComparer.Ordinal);
    private readonly Histogram _wait = new(WaitBuckets);
    private readonly Histogram _runDuration = new(StepBuckets);
    private readonly Histogram _steps = new(StepBuckets);
    private readonly Histogram _containerStarts = new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
    private long _queued, _cacheHits;

    public void HookReceived(string forge, string eventName) => _hooks.AddOrUpdate((forge, eventName), 1, (_, n) => n + 1);

    public void HookRejected(string reason) => _rejected.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public void Queued() => Interlocked.Increment(ref _queued);

    public void Started(TimeSpan waited) => _wait.Observe(waited.TotalSeconds);

    public void Finished(string status, TimeSpan took)
    {
        _runs.AddOrUpdate(status, 1, (_, n) => n + 1);
        _runDuration.Observe(took.TotalSeconds);
    }

    public void Step(StepResult step)
    {
        if (step.Outcome is not { } outcome)
        {
            return;
        }

        if (outcome.CachedFrom is not null)
        {
            Interlocked.Increment(ref _cacheHits);
        }
        else
        {
            _steps.Observe(outcome.Duration.TotalSeconds);
        }

        if (outcome.StartDuration is { } start)
        {
            _containerStarts.Observe(start.TotalSeconds);
        }
    }

    public string Render(int queueDepth, TimeSpan oldestWait, int running)
    {
        var text = new StringBuilder();
        Counter(text, "runner_hooks_received_total", "Webhooks verified and accepted, by forge and event.",
            _hooks.Select(h => ($"forge=\"{h.Key.Forge}\",event=\"{Escape(h.Key.Event)}\"", h.Value)));
        Counter(text, "runner_hooks_rejected_total", "Webhooks refused, by reason.", _rejected.Select(r => ($"reason=\"{r.Key}\"", r.Value)));
        Counter(text, "runner_runs_queued_total", "Runs queued.", [("", Interlocked.Read(ref _queued))]);
        Counter(text, "runner_runs_finished_total", "Runs ended, by status.", _runs.Select(r => ($"status=\"{r.Key}\"", r.Value)));
        Gauge(text, "runner_queue_depth", "Runs waiting in the queue.", queueDepth);
        Gauge(text, "runner_queue_oldest_wait_seconds", "How long the oldest waiting run has waited.", oldestWait.TotalSeconds);
        Gauge(text, "runner_runs_running", "Runs running on this server.", running);
        _wait.Render(text, "runner_queue_wait_seconds", "Time from a run's hook to its start.");
        _runDuration.Render(text, "runner_run_duration_seconds", "Time from a run's start to its end.");
        _steps.Render(text, "runner_step_duration_seconds", "Steps' durations (cached steps excluded).");
        _containerStarts.Render(text, "runner_container_start_seconds", "From a step's container being made to its command's execve.");
        Counter(text, "runner_step_cache_hits_total", "Steps whose layer came from the cache.", [("", Interlocked.Read(ref _cacheHits))]);
        return text.ToString();
    }

    private static void Counter(StringBuilder text, string name, string help, IEnumerable<(string Labels, long Value)> values)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n");
        foreach (var (labels, value) in values)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{(labels.Length > 0 ? "{" + labels + "}" : "")} {value}\n");
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, double value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private readonly Lock _gate = new();
        private double _sum;
        private long _count;

        public void Observe(double value)
        {
            lock (_gate)
            {
                var i = Array.FindIndex(bounds, b => value <= b);
                _counts[i < 0 ? bounds.Length : i]++;
                _sum += value;
                _count++;
            }
        }

        public void Render(StringBuilder text, string name, string help)
        {
            lock (_gate)
            {
                text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
                long cumulative = 0;
                for (var i = 0; i < bounds.Length; i++)
                {
                    cumulative += _counts[i];
                    text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i]}\"}} {cumulative}\n");
                }

                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {_count}\n{name}_sum {_sum}\n{name}_count {_count}\n");
            }
        }
    }
}
