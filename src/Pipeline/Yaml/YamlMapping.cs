using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Yaml;

public sealed record YamlEntry(YamlScalar Key, YamlNode Value);

/// <summary>A mapping with unique scalar keys in the order written; merge keys (<c>&lt;&lt;</c>) are already applied.</summary>
public sealed class YamlMapping : YamlNode
{
    public YamlMapping(SourcePosition position, IReadOnlyList<YamlEntry> entries, long weight)
        : base(position, weight)
    {
        Entries = entries;
    }

    public IReadOnlyList<YamlEntry> Entries { get; }

    public override string KindName => "mapping";

    public YamlEntry? Find(string key)
    {
        foreach (var e in Entries)
        {
            if (e.Key.Value == key)
            {
                return e;
            }
        }

        return null;
    }
}
