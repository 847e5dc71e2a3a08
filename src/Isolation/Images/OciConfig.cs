using System.Text.Json.Nodes;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>Reads what the runner needs from an OCI (or Docker) image config: the layers' DiffIDs and the run settings.</summary>
internal static class OciConfig
{
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
