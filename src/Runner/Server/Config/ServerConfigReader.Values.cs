using Ci.Pipeline.Parsing;
using Ci.Pipeline.Yaml;

namespace Ci.Runner.Server.Config;

/// <summary>Typed reads: each returns a value or reports one positioned diagnostic and returns null.</summary>
public sealed partial class ServerConfigReader
{
    private void Error(YamlNode at, string code, string message) => _diagnostics.Error(at.Position, code, message);

    /// <summary>The mapping's entries by key; an unknown key is reported with the nearest known one, a missing required one at the mapping.</summary>
    private Dictionary<string, YamlNode> Fields(YamlMapping map, string what, string[] known, string[]? required = null)
    {
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var entry in map.Entries)
        {
            if (known.Contains(entry.Key.Value))
            {
                fields[entry.Key.Value] = entry.Value;
            }
            else
            {
                Error(entry.Key, UnknownKey, $"{what} has no key '{entry.Key.Value}'{Suggestions.Hint(entry.Key.Value, known)}");
            }
        }

        foreach (var key in required ?? [])
        {
            if (!fields.ContainsKey(key))
            {
                Error(map, MissingKey, $"{what} needs {key}:");
            }
        }

        return fields;
    }

    private YamlMapping? Mapping(YamlNode node, string what)
    {
        if (node is YamlMapping map)
        {
            return map;
        }

        Error(node, WrongType, $"{what} must be a mapping, not a {node.KindName}");
        return null;
    }

    private string? String(YamlNode node, string what)
    {
        if (node is YamlScalar { IsNull: false, Value.Length: > 0 } s)
        {
            return s.Value;
        }

        Error(node, WrongType, $"{what} must be a non-empty string, not a {node.KindName}");
        return null;
    }

    private string? Choice(YamlNode node, string what, string[] choices)
    {
        if (String(node, what) is not { } value)
        {
            return null;
        }

        if (choices.Contains(value))
        {
            return value;
        }

        Error(node, InvalidValue, $"{what} must be one of {string.Join(", ", choices)}, not '{value}'{Suggestions.Hint(value, choices)}");
        return null;
    }

    private bool? Boolean(YamlNode node, string what)
    {
        if (node is YamlScalar { IsPlain: true, Value: "true" or "false" } s)
        {
            return s.Value == "true";
        }

        Error(node, WrongType, $"{what} must be true or false");
        return null;
    }

    private int? Count(YamlNode node, string what, int min, int max)
    {
        if (node is YamlScalar s && int.TryParse(s.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
        {
            return n;
        }

        Error(node, InvalidValue, $"{what} must be a whole number from {min} to {max}");
        return null;
    }

    private Uri? Url(YamlNode node, string what, string[] schemes)
    {
        if (String(node, what) is not { } text)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && schemes.Contains(url.Scheme))
        {
            return url;
        }

        Error(node, InvalidValue, $"{what}: '{text}' is not a URL ({string.Join(", ", schemes.Select(s => s + "://"))})");
        return null;
    }

    /// <summary>A clone address: an https, http, ssh or file URL, or the scp-like git@host:owner/name.git that forges show for ssh.</summary>
    private string? CloneUrl(YamlNode node, string what)
    {
        if (String(node, what) is not { } text)
        {
            return null;
        }

        if (System.Text.RegularExpressions.Regex.IsMatch(text, @"^[\w.-]+@[\w.-]+:[^\s/][^\s]*$"))
        {
            return text;
        }

        return Url(node, what, ["https", "http", "ssh", "file"])?.OriginalString;
    }

    private string? AbsolutePath(YamlNode node, string what)
    {
        if (String(node, what) is not { } text)
        {
            return null;
        }

        if (Path.IsPathRooted(text))
        {
            return Path.GetFullPath(text);
        }

        Error(node, InvalidValue, $"{what} must be an absolute path, not '{text}'");
        return null;
    }

    private string? ExistingFile(YamlNode node, string what)
    {
        if (AbsolutePath(node, what) is not { } path)
        {
            return null;
        }

        if (File.Exists(path))
        {
            return path;
        }

        Error(node, InvalidValue, $"{what}: there is no file {path}");
        return null;
    }

    private string? RelativeFile(YamlNode node, string what)
    {
        if (String(node, what) is not { } text)
        {
            return null;
        }

        if (!Path.IsPathRooted(text) && !text.Split('/').Contains(".."))
        {
            return text;
        }

        Error(node, InvalidValue, $"{what} must be a path inside the repository, not '{text}'");
        return null;
    }
}
