using System.Text.Json;

namespace Ci.Runner.Server.Hooks;

/// <summary>Reads a hook's JSON by path; a field the event needs and lacks is a 400 that names it.</summary>
internal readonly struct Payload(JsonElement root, string eventName)
{
    public JsonElement Root { get; } = root;

    public string? Find(params string[] path) => Element(path) is { ValueKind: JsonValueKind.String } e ? e.GetString() : null;

    public long? Number(params string[] path) => Element(path) is { ValueKind: JsonValueKind.Number } e && e.TryGetInt64(out var n) ? n : null;

    public bool Flag(params string[] path) => Element(path) is { ValueKind: JsonValueKind.True };

    public string Need(params string[] path) => Find(path) ?? throw Missing(path);

    public int NeedNumber(params string[] path) => Number(path) is { } n and > 0 and <= int.MaxValue ? (int)n : throw Missing(path);

    public JsonElement? Element(params string[] path)
    {
        var at = Root;
        foreach (var name in path)
        {
            if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(name, out at))
            {
                return null;
            }
        }

        return at;
    }

    /// <summary>
    /// Every file the commits add, modify or remove, when the payload lists the whole push
    /// (<paramref name="complete"/>); null when it may not (the forge cut the list), so the
    /// server asks the mirror instead of guessing.
    /// </summary>
    public IReadOnlyList<string>? ChangedFiles(bool complete)
    {
        if (!complete || Element("commits") is not { ValueKind: JsonValueKind.Array } commits)
        {
            return null;
        }

        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var commit in commits.EnumerateArray())
        {
            foreach (var list in new[] { "added", "modified", "removed" })
            {
                if (commit.ValueKind == JsonValueKind.Object && commit.TryGetProperty(list, out var names) && names.ValueKind == JsonValueKind.Array)
                {
                    files.UnionWith(names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!));
                }
            }
        }

        return [.. files];
    }

    public HookRejectedException Missing(string[] path) =>
        new(400, "malformed", $"the {eventName} payload has no {string.Join('.', path)}");

    public static string FirstLine(string? text) => (text ?? "").Split('\n', 2)[0].Trim() is var line && line.Length > 200 ? line[..200] + "…" : (text ?? "").Split('\n', 2)[0].Trim();

    public const string NoCommit = "0000000000000000000000000000000000000000";
}
