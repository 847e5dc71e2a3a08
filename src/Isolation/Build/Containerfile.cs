using System.Text.Json;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Build;

/// <summary>One instruction: its keyword, its arguments (exec form when written as a JSON array) and its line.</summary>
public sealed record Instruction(string Keyword, string Text, IReadOnlyList<string>? ExecForm, int Line);

/// <summary>
/// Parses a Containerfile (Dockerfile): comments, line continuations with <c>\</c>, and the
/// instructions FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, ENTRYPOINT, CMD and LABEL. Errors
/// name the file and line.
/// </summary>
public static class Containerfile
{
    public static readonly IReadOnlySet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
    {
        "FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "ENTRYPOINT", "CMD", "LABEL",
    };

    public static IReadOnlyList<Instruction> Parse(string text, string file)
    {
        var instructions = new List<Instruction>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var start = i + 1;
            while (line.EndsWith('\\') && i + 1 < lines.Length)
            {
                line = line[..^1] + " " + lines[++i].Trim();
            }

            var space = line.IndexOfAny([' ', '\t']);
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var rest = space < 0 ? "" : line[(space + 1)..].Trim();
            if (!Keywords.Contains(keyword))
            {
                throw new IsolationException($"{file}({start}): unknown instruction '{keyword}'{Hint(keyword)}");
            }

            if (rest.Length == 0)
            {
                throw new IsolationException($"{file}({start}): {keyword} needs arguments");
            }

            IReadOnlyList<string>? exec = null;
            if (rest.StartsWith('[') && keyword is "RUN" or "CMD" or "ENTRYPOINT" or "COPY" or "ADD")
            {
                try
                {
                    exec = JsonSerializer.Deserialize(rest, BuildJson.Default.StringArray);
                }
                catch (JsonException)
                {
                    throw new IsolationException($"{file}({start}): {keyword}'s JSON form is not a list of strings: {rest}");
                }
            }

            if (instructions.Count == 0 && keyword is not ("FROM" or "ARG"))
            {
                throw new IsolationException($"{file}({start}): the first instruction must be FROM (or ARG before it), not {keyword}");
            }

            instructions.Add(new Instruction(keyword, rest, exec, start));
        }

        if (!instructions.Any(i => i.Keyword == "FROM"))
        {
            throw new IsolationException($"{file}: no FROM instruction");
        }

        return instructions;
    }

    private static string Hint(string keyword) =>
        Keywords.MinBy(k => Levenshtein(k, keyword)) is { } near && Levenshtein(near, keyword) <= 2 ? $" (did you mean {near}?)" : "";

    private static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }

        return d[a.Length, b.Length];
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>), TypeInfoPropertyName = "StringArray")]
internal sealed partial class BuildJson : System.Text.Json.Serialization.JsonSerializerContext;
