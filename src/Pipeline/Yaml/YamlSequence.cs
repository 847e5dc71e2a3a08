using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Yaml;

public sealed class YamlSequence : YamlNode
{
    public YamlSequence(SourcePosition position, IReadOnlyList<YamlNode> items, long weight)
        : base(position, weight)
    {
        Items = items;
    }

    public IReadOnlyList<YamlNode> Items { get; }

    public override string KindName => "list";
}
