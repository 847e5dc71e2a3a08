using System.Threading.Channels;
using Ci.Runner.Engine;

namespace Ci.Runner.Server.Dispatch;

/// <summary>
/// The events of the runs in progress, for viewers that follow them (the run page's live log, the
/// API's event stream), as the JSON lines of <c>runner exec --json</c>, each passed through its
/// run's secret masker before anyone can see it. Each run keeps what happened so far (bounded),
/// and every follower gets that, then each new event, until the run ends. A finished run is read
/// from the records.
/// </summary>
public sealed class LiveRuns
{
    /// <summary>Events kept per run for late followers; past it the oldest output lines go (the records keep every line).</summary>
    public const int MaxKept = 20_000;

    /// <summary>How long an ended run's events stay for a follower that comes just after its end (a viewer that was waiting for a short run).</summary>
    public static readonly TimeSpan KeptAfterEnd = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly Dictionary<long, Live> _runs = [];

    private sealed class Live(Ci.Pipeline.Secrets.SecretMasker masker)
    {
        public Ci.Pipeline.Secrets.SecretMasker Masker { get; } = masker;

        public List<(bool IsOutput, string Json)> Events { get; } = [];

        public List<Channel<string>> Followers { get; } = [];

        /// <summary>Set when the run ended: its events are still followed, then the stream ends at once.</summary>
        public DateTimeOffset? Ended { get; set; }
    }

    /// <param name="masker">The run's masker (its secrets are added to it when the run starts).</param>
    public void Begin(long id, Ci.Pipeline.Secrets.SecretMasker masker)
    {
        lock (_gate)
        {
            foreach (var gone in _runs.Where(r => r.Value.Ended < DateTimeOffset.UtcNow - KeptAfterEnd).Select(r => r.Key).ToList())
            {
                _runs.Remove(gone);
            }

            _runs[id] = new Live(masker);
        }
    }

    public void Report(long id, RunEvent e)
    {
        lock (_gate)
        {
            if (!_runs.TryGetValue(id, out var live) || live.Ended is not null)
            {
                return;
            }

            if (live.Events.Count >= MaxKept && live.Events.FindIndex(x => x.IsOutput) is var oldest and >= 0)
            {
                live.Events.RemoveAt(oldest);
            }

            var json = live.Masker.Apply(Output.JsonOutput.Line(e));
            live.Events.Add((e is StepOutputEvent, json));
            foreach (var follower in live.Followers)
            {
                follower.Writer.TryWrite(json); // unbounded: a slow viewer costs memory, not the run's time
            }
        }
    }

    public void End(long id)
    {
        lock (_gate)
        {
            if (_runs.TryGetValue(id, out var live))
            {
                live.Ended = DateTimeOffset.UtcNow;
                live.Followers.ForEach(f => f.Writer.TryComplete());
                live.Followers.Clear();
            }
        }
    }

    /// <summary>What happened so far and what happens next, as masked JSON lines; null when the run is not in progress here.</summary>
    public ChannelReader<string>? Follow(long id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_runs.TryGetValue(id, out var live))
            {
                return null;
            }

            var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
            live.Events.ForEach(e => channel.Writer.TryWrite(e.Json));
            if (live.Ended is not null)
            {
                channel.Writer.TryComplete(); // it ended just now: what it did, then the end
                return channel.Reader;
            }

            live.Followers.Add(channel);
            cancellationToken.Register(() =>
            {
                lock (_gate)
                {
                    live.Followers.Remove(channel);
                }

                channel.Writer.TryComplete();
            });
            return channel.Reader;
        }
    }

    /// <summary>Whether the run is in progress here (not one that ended and is only kept for late followers).</summary>
    public bool IsLive(long id)
    {
        lock (_gate)
        {
            return _runs.TryGetValue(id, out var live) && live.Ended is null;
        }
    }
}
