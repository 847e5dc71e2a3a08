using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Yaml;

/// <summary>
/// A scalar, kept as the text the user wrote. Types are decided by the reader that knows what
/// the key expects, following the YAML 1.2 core schema: <c>on</c>, <c>yes</c> and <c>NO</c> stay
/// strings (no "Norway problem").
/// </summary>
public sealed class YamlScalar : YamlNode
{
    public YamlScalar(SourcePosition position, string value, bool isPlain)
        : base(position, 1)
    {
        Value = value;
        IsPlain = isPlain;
    }

    public string Value { get; }

    /// <summary>False for quoted and block scalars, which are always strings.</summary>
    public bool IsPlain { get; }

    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string KindName => IsNull ? "null" : IsPlain && LooksNumeric(Value) ? "number" : "string";

    private static bool LooksNumeric(string s) => double.TryParse(s, System.Globalization.NumberStyles.Float,
        System.Globalization.CultureInfo.InvariantCulture, out _);
}
