using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Model;

/// <summary>A string as written in the file, with its position; may hold <c>${{ }}</c> interpolations.</summary>
public readonly record struct Text(string Value, SourcePosition Position)
{
    private readonly string? _value = Value;

    // A default Text (a key whose value failed to read) behaves as an empty string, never null.
    public string Value
    {
        get => _value ?? "";
        init => _value = value;
    }

    public override string ToString() => Value;
}
