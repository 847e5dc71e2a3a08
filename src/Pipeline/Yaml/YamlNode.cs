using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Yaml;

/// <summary>
/// A YAML node that remembers where it was written. Aliases share the node they refer to, so
/// the tree is a DAG; <see cref="Weight"/> is the size of its expansion, which lets readers
/// bound their work without ever expanding it.
/// </summary>
public abstract class YamlNode
{
    protected YamlNode(SourcePosition position, long weight)
    {
        Position = position;
        Weight = weight;
    }

    public SourcePosition Position { get; }

    /// <summary>The number of nodes this one stands for once aliases are expanded (itself included).</summary>
    public long Weight { get; }

    /// <summary>What a user calls this kind of node in an error message.</summary>
    public abstract string KindName { get; }
}
