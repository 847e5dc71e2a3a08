using System.Text;
using System.Text.Json.Nodes;

namespace Ci.Isolation.Registry;

/// <summary>User name and password for a registry, from the Docker config file's <c>auths</c>; never logged.</summary>
internal sealed record Credentials(string User, string Password)
{
    public string Basic => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));

    public override string ToString() => $"{User}:***";

    public static Credentials? For(string registry, string? configPath)
    {
        configPath ??= Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker", "config.json");
        if (!File.Exists(configPath))
        {
            return null;
        }

        var auths = JsonNode.Parse(File.ReadAllText(configPath))?["auths"]?.AsObject();
        if (auths is null)
        {
            return null;
        }

        // Docker Hub's entry is keyed by its old index URL.
        string[] keys = registry == "docker.io"
            ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
            : [registry, "https://" + registry, "http://" + registry];
        foreach (var key in keys)
        {
            if (auths[key]?["auth"] is JsonValue value && value.GetValue<string>() is { Length: > 0 } encoded)
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    return new Credentials(decoded[..colon], decoded[(colon + 1)..]);
                }
            }
        }

        return null;
    }
}
