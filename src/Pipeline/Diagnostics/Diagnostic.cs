namespace Ci.Pipeline.Diagnostics;

/// <summary>
/// One finding about a pipeline file, always with a position. Rendered as
/// <c>file(line,col): error PL0012: message</c>, the form compilers use, so editors and CI
/// log viewers link it to the source.
/// </summary>
public sealed record Diagnostic(SourcePosition Position, Severity Severity, string Code, string Message)
{
    public bool IsError => Severity == Severity.Error;

    public override string ToString() =>
        $"{Position}: {(IsError ? "error" : "warning")} {Code}: {Message}";
}
