using System.Text.Json.Serialization;

namespace Ci.Isolation.Images;

/// <summary>What an image says about running it (the OCI config's Env, Entrypoint, Cmd, WorkingDir, User).</summary>
public sealed record ImageConfig(IReadOnlyList<string> Env, IReadOnlyList<string>? Entrypoint, IReadOnlyList<string>? Cmd, string? WorkingDir, string? User)
{
    /// <summary>The image's environment as names and values: entries without '=' are left out, and a later entry wins.</summary>
    public Dictionary<string, string> Environment() => EnvironmentOf(Env);

    /// <summary><c>NAME=VALUE</c> entries (an image's, a build's) as names and values: entries without '=' are left out, and a later entry wins.</summary>
    public static Dictionary<string, string> EnvironmentOf(IEnumerable<string> entries)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                map[entry[..eq]] = entry[(eq + 1)..];
            }
        }

        return map;
    }

    /// <summary>
    /// A digest of every setting, for cache keys. Not <c>ToString()</c>: a record prints its lists
    /// as type names, so a changed Env or Cmd would keep the same key.
    /// </summary>
    public string Fingerprint() => CacheKey.Of(
    [
        "env", .. Env,
        "entrypoint", Entrypoint is null ? "\0null" : string.Join("\0", Entrypoint),
        "cmd", Cmd is null ? "\0null" : string.Join("\0", Cmd),
        "workdir", WorkingDir ?? "\0null",
        "user", User ?? "\0null",
    ]);

    public static ImageConfig Default { get; } = new(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], null, ["/bin/sh"], null, null);
}

/// <summary>A blob as a manifest describes it.</summary>
public sealed record BlobRef(string Digest, string MediaType, long Size);

/// <summary>
/// An image in the store: its name, its layers (base first, by DiffID) and its config. For
/// pushing, <see cref="ConfigBlob"/> and <see cref="LayerBlobs"/> name the original blobs, kept in
/// the blob store (absent for images recorded before blobs were kept).
/// </summary>
public sealed record Image(string Name, IReadOnlyList<string> Layers, ImageConfig Config, DateTimeOffset Created)
{
    public BlobRef? ConfigBlob { get; init; }

    public IReadOnlyList<BlobRef>? LayerBlobs { get; init; }

    /// <summary>Where the image was pulled from (registry/repository), for cross-repository mounts when pushing.</summary>
    public string? Origin { get; init; }
}

[JsonSerializable(typeof(Image))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
internal sealed partial class ImageJson : JsonSerializerContext;
