using System.Text;
using System.Text.RegularExpressions;

namespace Ci.Pipeline.Values;

/// <summary>
/// Glob patterns for branches, tags and paths: <c>*</c> matches within one path segment,
/// <c>**</c> across segments, <c>?</c> one character, <c>[abc]</c> a class. In a list, a
/// pattern starting with <c>!</c> excludes, and the last matching pattern decides (as in
/// .gitignore and GitHub's branch filters).
/// </summary>
public static class Glob
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);

    /// <summary>An error sentence when the pattern cannot be used, else null.</summary>
    public static string? Validate(string pattern)
    {
        var p = pattern.StartsWith('!') ? pattern[1..] : pattern;
        if (p.Length == 0)
        {
            return "an empty pattern";
        }

        if (p.Length > 1024)
        {
            return "a pattern longer than 1024 characters";
        }

        var open = p.IndexOf('[', StringComparison.Ordinal);
        if (open >= 0 && p.IndexOf(']', open) < 0)
        {
            return $"'{pattern}' has a '[' without ']'";
        }

        try
        {
            _ = new Regex(Translate(p), RegexOptions.CultureInvariant, MatchTimeout);
            return null;
        }
        catch (ArgumentException)
        {
            return $"'{pattern}' has a character class that cannot be used (a range in reverse order?)";
        }
    }

    public static bool IsMatch(string pattern, string input) => ToRegex(pattern).IsMatch(input);

    /// <summary>Applies a pattern list: the last matching pattern decides; a list of only exclusions starts from "all".</summary>
    public static bool MatchesList(IEnumerable<string> patterns, string input)
    {
        bool? result = null;
        var anyInclude = false;
        foreach (var pattern in patterns)
        {
            var negate = pattern.StartsWith('!');
            anyInclude |= !negate;
            if (IsMatch(negate ? pattern[1..] : pattern, input))
            {
                result = !negate;
            }
        }

        return result ?? !anyInclude;
    }

    /// <summary>The pattern as a regular expression; a pattern <see cref="Validate"/> refuses matches only itself, literally.</summary>
    public static Regex ToRegex(string pattern)
    {
        try
        {
            return new Regex(Translate(pattern), RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException)
        {
            return new Regex("^" + Regex.Escape(pattern) + "$", RegexOptions.CultureInvariant, MatchTimeout);
        }
    }

    private static string Translate(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var ch = pattern[i];
            switch (ch)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        // "**/" matches zero or more whole directories.
                        i++;
                        sb.Append("(?:.*/)?");
                    }
                    else
                    {
                        sb.Append(".*");
                    }

                    break;
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }

                    var body = pattern[(i + 1)..close];
                    sb.Append('[').Append(body.StartsWith('!') ? "^" + Regex.Escape(body[1..]) : Regex.Escape(body)).Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(Regex.Escape(ch.ToString()));
                    break;
            }
        }

        sb.Append('$');
        return sb.ToString();
    }
}
