using System.CommandLine;

namespace Ci.Runner.Cli;

/// <summary>Options every verb takes.</summary>
internal static class GlobalOptions
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Write diagnostic logs to stderr (debug level)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write machine-readable JSON to stdout instead of text",
        Recursive = true,
    };
}
