using System.Text.Json.Nodes;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>Reads what the runner needs from an OCI (or Docker) image config: the layers' DiffIDs and the run settings.</summary>
internal static class OciConfig
{
    public const string MediaType = "application/vnd.oci.image.config.v1+json";
    public const string LayerTar = "application/vnd.oci.image.layer.v1.tar";
    public const string LayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string ManifestType = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>An OCI image config for <paramref name="config"/> over <paramref name="diffIds"/> (base first).</summary>
    public static byte[] Write(ImageConfig config, IReadOnlyList<Digest> diffIds)
    {
        static JsonArray? Array(IReadOnlyList<string>? items) => items is null ? null : new JsonArray(items.Select(i => (JsonNode)i).ToArray());
        var c = new JsonObject { ["Env"] = Array(config.Env) };
        if (config.Entrypoint is not null)
        {
            c["Entrypoint"] = Array(config.Entrypoint);
        }

        if (config.Cmd is not null)
        {
            c["Cmd"] = Array(config.Cmd);
        }

        if (config.WorkingDir is not null)
        {
            c["WorkingDir"] = config.WorkingDir;
        }

        if (config.User is not null)
        {
            c["User"] = config.User;
        }

        var json = new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = c,
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(diffIds.Select(d => (JsonNode)d.ToString()).ToArray()) },
        };
        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    public static (IReadOnlyList<Digest> DiffIds, ImageConfig Config) Parse(JsonNode config)
    {
        var diffIds = config["rootfs"]?["diff_ids"]?.AsArray().Select(d => Digest.Parse((string)d!)).ToList()
            ?? throw new IsolationException("the image config has no rootfs.diff_ids");
        var c = config["config"];
        static List<string>? Strings(JsonNode? n) => n is JsonArray a ? a.Select(x => (string)x!).ToList() : null;
        var imageConfig = new ImageConfig(
            Strings(c?["Env"]) ?? ImageConfig.Default.Env.ToList(),
            Strings(c?["Entrypoint"]),
            Strings(c?["Cmd"]),
            (string?)c?["WorkingDir"] is { Length: > 0 } w ? w : null,
            (string?)c?["User"] is { Length: > 0 } u ? u : null);
        return (diffIds, imageConfig);
    }
}
