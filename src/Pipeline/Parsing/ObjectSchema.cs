using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

/// <summary>
/// The keys one kind of mapping accepts and how each is read. The key table is the single source
/// of truth: reading, "did you mean" hints and the reference's key lists all come from it.
/// </summary>
internal sealed class ObjectSchema<T>(string name, IReadOnlyDictionary<string, Action<ReadContext, YamlNode, T>> fields) : IObjectSchema
{
    public string Name { get; } = name;

    public IReadOnlyCollection<string> Keys => (IReadOnlyCollection<string>)fields.Keys;

    /// <summary>Old spellings still accepted, with a warning naming the current key.</summary>
    public IReadOnlyDictionary<string, string> Deprecated { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<string> Required { get; init; } = [];

    public void Read(ReadContext ctx, YamlMapping map, T target)
    {
        foreach (var (key, value) in map.Entries)
        {
            var k = key.Value;
            if (Deprecated.TryGetValue(k, out var current))
            {
                ctx.Diagnostics.Warning(key.Position, DiagnosticCodes.Deprecated, $"'{k}' is deprecated in {Name}; use '{current}'");
                k = current;
                if (map.Find(current) is not null)
                {
                    ctx.Error(key, DiagnosticCodes.DuplicateKey, $"'{key.Value}' and '{current}' mean the same; keep '{current}'");
                    continue;
                }
            }

            if (fields.TryGetValue(k, out var read))
            {
                read(ctx, value, target);
            }
            else
            {
                ctx.Error(key, DiagnosticCodes.UnknownKey, $"unknown key '{k}' in {Name}{Suggestions.Hint(k, fields.Keys)}");
            }
        }

        foreach (var required in Required)
        {
            if (map.Find(required) is null)
            {
                ctx.Error(map, DiagnosticCodes.MissingKey, $"{Name} has no '{required}'");
            }
        }
    }
}

/// <summary>What the reference test needs to know of a schema.</summary>
public interface IObjectSchema
{
    string Name { get; }

    IReadOnlyCollection<string> Keys { get; }
}
