using System.CommandLine;

namespace Ci.Runner.Cli;

/// <summary>Options every verb takes.</summary>
internal static class GlobalOptions
{
    private const string VerboseDescription = "Write diagnostic logs to stderr (debug level)";

    /// <summary>Before the verb: <c>runner -v exec</c>.</summary>
    private static readonly Option<bool> RootVerbose = new("--verbose", "-v") { Description = VerboseDescription };

    /// <summary>After the verb: <c>runner exec -v</c>.</summary>
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = VerboseDescription, Recursive = true };

    /// <summary><c>runner run</c> takes <c>-v</c> for a volume, as <c>docker run</c> does: there the log is <c>--verbose</c> only.</summary>
    private static readonly Option<bool> VerboseLong = new("--verbose") { Description = VerboseDescription, Recursive = true };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write machine-readable JSON to stdout instead of text",
        Recursive = true,
    };

    /// <summary>Adds the options to the root and its verbs; call once every verb is added.</summary>
    public static void AddTo(RootCommand root)
    {
        root.Options.Add(RootVerbose);
        root.Options.Add(Json);
        foreach (var verb in root.Subcommands)
        {
            verb.Options.Add(verb.Options.Any(o => o.Aliases.Contains("-v")) ? VerboseLong : Verbose);
        }
    }

    public static bool IsVerbose(ParseResult parse) => parse.GetValue(RootVerbose) || parse.GetValue(Verbose) || parse.GetValue(VerboseLong);
}
