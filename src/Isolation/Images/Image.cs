using System.Text.Json.Serialization;

namespace Ci.Isolation.Images;

/// <summary>What an image says about running it (the OCI config's Env, Entrypoint, Cmd, WorkingDir, User).</summary>
public sealed record ImageConfig(IReadOnlyList<string> Env, IReadOnlyList<string>? Entrypoint, IReadOnlyList<string>? Cmd, string? WorkingDir, string? User)
{
    public static ImageConfig Default { get; } = new(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], null, ["/bin/sh"], null, null);
}

/// <summary>An image in the store: its name, its layers (base first, by DiffID) and its config.</summary>
public sealed record Image(string Name, IReadOnlyList<string> Layers, ImageConfig Config, DateTimeOffset Created);

[JsonSerializable(typeof(Image))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
internal sealed partial class ImageJson : JsonSerializerContext;
