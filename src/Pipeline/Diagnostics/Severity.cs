namespace Ci.Pipeline.Diagnostics;

public enum Severity
{
    Warning,
    Error,
}
