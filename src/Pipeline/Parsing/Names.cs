using System.Text.RegularExpressions;

namespace Ci.Pipeline.Parsing;

public static partial class Names
{
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex JobNamePattern();

    public static bool IsEnvName(string name) => name.Length <= 128 && EnvNamePattern().IsMatch(name);

    /// <summary>Job names become parts of paths, cgroup names and log prefixes, so they are kept plain.</summary>
    public static bool IsJobName(string name) => name.Length <= 64 && JobNamePattern().IsMatch(name);
}
