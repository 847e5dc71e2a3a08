using Ci.Pipeline.Yaml;

namespace Ci.Runner.Server.Config;

public sealed partial class ServerConfigReader
{
    private static readonly Dictionary<string, ForgeKind> Forges = new(StringComparer.Ordinal)
    {
        ["github"] = ForgeKind.GitHub, ["gitlab"] = ForgeKind.GitLab, ["gitea"] = ForgeKind.Gitea, ["forgejo"] = ForgeKind.Gitea,
    };

    private RepositoryConfig? ReadRepository(YamlMapping map)
    {
        var fields = Fields(map, "a repository", ["name", "forge", "clone_url", "webhook_secret", "clone", "status", "runs_at_once",
            "cancel_redundant", "pipeline", "secrets"], required: ["name", "forge", "clone_url"]);
        var name = fields.TryGetValue("name", out var nameNode) ? String(nameNode, "name") : null;
        var forge = fields.TryGetValue("forge", out var forgeNode) ? Choice(forgeNode, "forge", [.. Forges.Keys]) : null;
        var cloneUrl = fields.TryGetValue("clone_url", out var urlNode) ? CloneUrl(urlNode, "clone_url") : null;
        if (name is null || forge is null || cloneUrl is null)
        {
            return null;
        }

        if (name.Trim('/') != name || name.Split('/').Any(p => p.Length == 0) || !name.Contains('/'))
        {
            Error(nameNode!, InvalidValue, $"name '{name}' must be the repository's path as its forge names it: owner/name (GitLab: group/…/project)");
        }

        var repo = new RepositoryConfig
        {
            Name = name,
            Forge = Forges[forge],
            CloneUrl = cloneUrl,
            WebhookSecret = fields.TryGetValue("webhook_secret", out var secret) ? Secret(secret, "webhook_secret") : null,
            RunsAtOnce = fields.TryGetValue("runs_at_once", out var runs) ? Count(runs, "runs_at_once", 1, 256) ?? 2 : 2,
            CancelRedundant = !fields.TryGetValue("cancel_redundant", out var cancel) || (Boolean(cancel, "cancel_redundant") ?? true),
            PipelineFile = fields.TryGetValue("pipeline", out var pipeline) ? RelativeFile(pipeline, "pipeline") ?? "" : Ci.Pipeline.Parsing.PipelineLoader.DefaultFile,
        };
        if (fields.TryGetValue("clone", out var clone) && Mapping(clone, "clone") is { } cloneMap)
        {
            var cloneFields = Fields(cloneMap, "clone", ["username", "password"], required: ["password"]);
            repo = repo with
            {
                CloneUsername = cloneFields.TryGetValue("username", out var user) ? String(user, "clone.username") : null,
                ClonePassword = cloneFields.TryGetValue("password", out var password) ? Secret(password, "clone.password") : null,
            };
        }

        if (fields.TryGetValue("status", out var status) && Mapping(status, "status") is { } statusMap)
        {
            var statusFields = Fields(statusMap, "status", ["api_url", "token", "per_job"], required: ["api_url", "token"]);
            var api = statusFields.TryGetValue("api_url", out var apiNode) ? Url(apiNode, "status.api_url", ["https", "http"]) : null;
            var token = statusFields.TryGetValue("token", out var tokenNode) ? Secret(tokenNode, "status.token") : null;
            var perJob = statusFields.TryGetValue("per_job", out var perJobNode) && (Boolean(perJobNode, "status.per_job") ?? false);
            if (api is not null && token is not null)
            {
                repo = repo with { Status = new StatusConfig(api, token, perJob) };
            }
        }

        if (fields.TryGetValue("secrets", out var secrets) && Mapping(secrets, "secrets") is { } secretsMap)
        {
            var values = new Dictionary<string, ConfigSecret>(StringComparer.Ordinal);
            foreach (var entry in secretsMap.Entries)
            {
                var key = entry.Key.Value;
                if (key.Length == 0 || char.IsAsciiDigit(key[0]) || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                {
                    Error(entry.Key, InvalidValue, $"secrets: '{key}' is not a secret name (letters, digits and _, not starting with a digit)");
                }
                else if (Secret(entry.Value, $"secrets.{key}") is { } value)
                {
                    values[key] = value;
                }
            }

            repo = repo with { Secrets = values };
        }

        return repo;
    }
}
