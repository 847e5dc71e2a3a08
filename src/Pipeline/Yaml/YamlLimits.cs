namespace Ci.Pipeline.Yaml;

/// <summary>Bounds that keep a hostile or broken file from costing unbounded time or memory.</summary>
public sealed record YamlLimits
{
    public static YamlLimits Default { get; } = new();

    /// <summary>Largest file read, in bytes. Real pipelines are a few KiB; GitHub caps workflows at 512 KiB.</summary>
    public int MaxFileBytes { get; init; } = 1024 * 1024;

    /// <summary>Deepest nesting of lists and mappings. The language needs about 8.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Most nodes a document may stand for once aliases are expanded.</summary>
    public long MaxExpandedNodes { get; init; } = 250_000;
}
