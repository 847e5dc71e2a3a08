namespace Ci.Pipeline.Diagnostics;

/// <summary>
/// Collects diagnostics up to a cap, so that a broken file reports everything at once but a
/// pathological one (a million bad keys) cannot flood the output or memory.
/// </summary>
public sealed class DiagnosticBag
{
    public const int DefaultCap = 100;

    private readonly List<Diagnostic> _items = [];
    private readonly HashSet<(SourcePosition, string, string)> _seen = [];
    private readonly int _cap;
    private bool _truncated;

    public DiagnosticBag(int cap = DefaultCap) => _cap = cap;

    public IReadOnlyList<Diagnostic> Items => _items;

    public bool HasErrors { get; private set; }

    /// <summary>True once the cap was reached; callers may stop doing work whose only product is more diagnostics.</summary>
    public bool IsFull => _truncated;

    public void Error(SourcePosition at, string code, string message) => Add(new Diagnostic(at, Severity.Error, code, message));

    public void Warning(SourcePosition at, string code, string message) => Add(new Diagnostic(at, Severity.Warning, code, message));

    public void Add(Diagnostic diagnostic)
    {
        if (diagnostic.IsError)
        {
            HasErrors = true;
        }

        if (_truncated || !_seen.Add((diagnostic.Position, diagnostic.Code, diagnostic.Message)))
        {
            return;
        }

        if (_items.Count >= _cap)
        {
            _truncated = true;
            _items.Add(new Diagnostic(diagnostic.Position, Severity.Error, DiagnosticCodes.TooManyDiagnostics,
                $"too many diagnostics; stopped after {_cap}"));
            return;
        }

        _items.Add(diagnostic);
    }

    public void AddRange(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            Add(d);
        }
    }
}
