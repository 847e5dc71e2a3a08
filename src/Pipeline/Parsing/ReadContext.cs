using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Values;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

/// <summary>
/// Typed reads of YAML nodes. Each read either returns a value or reports one positioned
/// diagnostic and returns null; none throws, so a reader goes on and collects every problem.
/// </summary>
internal sealed class ReadContext(DiagnosticBag diagnostics)
{
    public DiagnosticBag Diagnostics { get; } = diagnostics;

    public void Error(YamlNode at, string code, string message) => Diagnostics.Error(at.Position, code, message);

    public YamlMapping? Mapping(YamlNode node, string what)
    {
        if (node is YamlMapping m)
        {
            return m;
        }

        WrongType(node, what, "a mapping");
        return null;
    }

    public void WrongType(YamlNode node, string what, string expected) =>
        Error(node, DiagnosticCodes.WrongType, $"{what} must be {expected}, not a {node.KindName}{Found(node)}");

    private static string Found(YamlNode node) =>
        node is YamlScalar { IsNull: false } s ? $" ('{Clip(s.Value)}')" : "";

    private static string Clip(string s) => s.Length > 40 ? s[..40] + "…" : s;

    /// <summary>A string scalar. Numbers and booleans written plainly are accepted as their text (PORT: 8080).</summary>
    public Text? String(YamlNode node, string what, bool allowEmpty = false)
    {
        if (node is not YamlScalar s || (s.IsNull && !allowEmpty))
        {
            WrongType(node, what, "a string");
            return null;
        }

        if (!allowEmpty && s.Value.Length == 0)
        {
            Error(node, DiagnosticCodes.InvalidValue, $"{what} must not be empty");
            return null;
        }

        return new Text(s.IsNull ? "" : s.Value, s.Position);
    }

    /// <summary>A single string or a list of strings (<c>needs: build</c> and <c>needs: [build]</c> alike).</summary>
    public IReadOnlyList<Text>? StringList(YamlNode node, string what)
    {
        if (node is YamlScalar { IsNull: false })
        {
            return String(node, what) is { } one ? [one] : null;
        }

        if (node is not YamlSequence seq)
        {
            WrongType(node, what, "a string or a list of strings");
            return null;
        }

        var list = new List<Text>(seq.Items.Count);
        foreach (var item in seq.Items)
        {
            if (String(item, $"an item of {what}") is { } t)
            {
                list.Add(t);
            }
        }

        return list;
    }

    public bool? Bool(YamlNode node, string what)
    {
        if (node is YamlScalar s)
        {
            switch (s.Value)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
                case "yes" or "no" or "on" or "off" or "Yes" or "No" or "y" or "n":
                    Error(node, DiagnosticCodes.WrongType, $"{what} must be true or false; '{s.Value}' is a string in YAML 1.2");
                    return null;
            }
        }

        WrongType(node, what, "true or false");
        return null;
    }

    public int? Int(YamlNode node, string what, int min, int max)
    {
        if (node is not YamlScalar { IsNull: false } s || !long.TryParse(s.Value, System.Globalization.NumberStyles.AllowLeadingSign,
                System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            WrongType(node, what, "a whole number");
            return null;
        }

        if (value < min || value > max)
        {
            Error(node, DiagnosticCodes.OutOfRange, $"{what} must be between {min} and {max}; got {value}");
            return null;
        }

        return (int)value;
    }

    public IReadOnlyList<int>? IntList(YamlNode node, string what, int min, int max)
    {
        if (node is YamlScalar)
        {
            return Int(node, what, min, max) is { } one ? [one] : null;
        }

        if (node is not YamlSequence seq)
        {
            WrongType(node, what, "a number or a list of numbers");
            return null;
        }

        var list = new List<int>();
        foreach (var item in seq.Items)
        {
            if (Int(item, $"an item of {what}", min, max) is { } v)
            {
                list.Add(v);
            }
        }

        return list;
    }

    public TimeSpan? Duration(YamlNode node, string what, TimeSpan min, TimeSpan max)
    {
        if (node is not YamlScalar { IsNull: false } s)
        {
            WrongType(node, what, "a duration such as 30m");
            return null;
        }

        if (!Units.TryParseDuration(s.Value, out var d, out var error))
        {
            Error(node, DiagnosticCodes.InvalidDuration, $"{what}: {error}");
            return null;
        }

        if (d < min || d > max)
        {
            Error(node, DiagnosticCodes.OutOfRange,
                $"{what} must be between {Units.FormatDuration(min)} and {Units.FormatDuration(max)}; got {s.Value}");
            return null;
        }

        return d;
    }

    public long? Size(YamlNode node, string what, long min, long max)
    {
        if (node is not YamlScalar { IsNull: false } s)
        {
            WrongType(node, what, "a size such as 512Mi");
            return null;
        }

        if (!Units.TryParseSize(s.Value, out var bytes, out var error))
        {
            Error(node, DiagnosticCodes.InvalidSize, $"{what}: {error}");
            return null;
        }

        if (bytes < min || bytes > max)
        {
            Error(node, DiagnosticCodes.OutOfRange,
                $"{what} must be between {Units.FormatBytes(min)} and {Units.FormatBytes(max)}; got {s.Value}");
            return null;
        }

        return bytes;
    }

    public T? Enum<T>(YamlNode node, string what, IReadOnlyDictionary<string, T> values) where T : struct
    {
        if (node is YamlScalar { IsNull: false } s && values.TryGetValue(s.Value, out var v))
        {
            return v;
        }

        var given = node is YamlScalar sc ? $"'{sc.Value}'" : $"a {node.KindName}";
        Error(node, DiagnosticCodes.InvalidValue,
            $"{what} must be one of {string.Join(", ", values.Keys)}; got {given}{(node is YamlScalar x ? Suggestions.Hint(x.Value, values.Keys) : "")}");
        return null;
    }

    /// <summary>An env mapping: NAME: value. Names follow the shell's rules.</summary>
    public IReadOnlyList<EnvEntry> Env(YamlNode node, string what)
    {
        var list = new List<EnvEntry>();
        if (Mapping(node, what) is not { } map)
        {
            return list;
        }

        foreach (var (key, value) in map.Entries)
        {
            if (!Names.IsEnvName(key.Value))
            {
                Error(key, DiagnosticCodes.InvalidName,
                    $"'{key.Value}' is not a valid variable name (letters, digits and '_', not starting with a digit)");
                continue;
            }

            if (value is YamlScalar s)
            {
                list.Add(new EnvEntry(new Text(key.Value, key.Position), new Text(s.IsNull ? "" : s.Value, s.Position)));
            }
            else
            {
                WrongType(value, $"the value of {key.Value}", "a string");
            }
        }

        return list;
    }
}
