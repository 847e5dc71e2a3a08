using Ci.Isolation.Registry;
using Ci.Pipeline.Values;

namespace Ci.Runner.Output;

/// <summary>
/// How a pull looks. On a terminal: one line per layer with a bar that fills as it downloads,
/// redrawn in place (at most ten times a second). Elsewhere (CI logs, pipes): one line per layer
/// and state change, never the byte counts in between.
/// </summary>
internal sealed class PullProgressView(TextWriter output, bool terminal)
{
    private const int BarWidth = 30;
    private readonly List<string> _order = [];
    private readonly Dictionary<string, PullProgress> _latest = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _drawnLines;
    private long _lastDraw;

    public void Report(PullProgress progress)
    {
        lock (_lock)
        {
            if (!terminal)
            {
                if (progress.State != "downloading")
                {
                    output.WriteLine($"  {progress.Layer}: {progress.State}{(progress.Bytes > 0 ? $" ({Units.FormatBytes(progress.Bytes)})" : "")}");
                }

                return;
            }

            if (!_latest.ContainsKey(progress.Layer))
            {
                _order.Add(progress.Layer);
            }

            var changed = !_latest.TryGetValue(progress.Layer, out var previous) || previous.State != progress.State;
            _latest[progress.Layer] = progress;
            var now = Environment.TickCount64;
            if (changed || now - _lastDraw >= 100)
            {
                Draw();
                _lastDraw = now;
            }
        }
    }

    /// <summary>The final state of every line (call once the pull is over).</summary>
    public void Finish()
    {
        lock (_lock)
        {
            if (terminal && _order.Count > 0)
            {
                Draw();
            }
        }
    }

    private void Draw()
    {
        if (_drawnLines > 0)
        {
            output.Write($"\u001b[{_drawnLines}A"); // back to the first layer's line
        }

        foreach (var layer in _order)
        {
            output.Write("\u001b[2K"); // clear the line
            output.WriteLine(Line(_latest[layer]));
        }

        _drawnLines = _order.Count;
        output.Flush();
    }

    internal static string Line(PullProgress p)
    {
        var size = p.Total is { } total ? $"{Units.FormatBytes(p.Bytes)} / {Units.FormatBytes(total)}" : Units.FormatBytes(p.Bytes);
        if (p.State != "downloading")
        {
            return $"  {p.Layer}  {p.State}{(p.Bytes > 0 ? $" ({Units.FormatBytes(p.Bytes)})" : "")}";
        }

        var filled = p.Total is > 0 ? (int)Math.Clamp(p.Bytes * BarWidth / p.Total.Value, 0, BarWidth) : 0;
        return $"  {p.Layer}  [{new string('#', filled)}{new string('.', BarWidth - filled)}] {size}";
    }
}
