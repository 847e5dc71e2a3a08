namespace Ci.Pipeline.Diagnostics;

/// <summary>A place in a source file. Line and column are 1-based, as editors show them.</summary>
public readonly record struct SourcePosition(string File, int Line, int Column)
{
    public override string ToString() => $"{File}({Line},{Column})";

    /// <summary>The position <paramref name="offset"/> characters further on the same line.</summary>
    public SourcePosition Advance(int offset) => this with { Column = Column + offset };
}
