namespace Ci.Runner.Server.Config;

/// <summary>Which API a repository's forge speaks: its webhooks' headers and signatures, its commit statuses.</summary>
public enum ForgeKind
{
    GitHub,
    GitLab,
    Gitea,
}

/// <summary>Who may look at runs: anyone who reaches the server, or only with the view token.</summary>
public enum ViewAccess
{
    Public,
    Token,
}

/// <summary>
/// A secret of the server's configuration, read from an environment variable or a file when the
/// configuration is loaded, never written in the configuration's text. Its text never shows:
/// <see cref="ToString"/> is a mask, so a record that holds one can be logged.
/// </summary>
public sealed class ConfigSecret(string value, string source)
{
    public string Value { get; } = value;

    /// <summary>Where it came from, for messages: "env GITHUB_TOKEN", "file /etc/runner/token".</summary>
    public string Source { get; } = source;

    public override string ToString() => $"***({Source})";
}

/// <summary>How the server reports a commit's state back to its forge.</summary>
/// <param name="ApiUrl">The forge's API base: https://api.github.com, https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1.</param>
/// <param name="PerJob">Besides the pipeline's status, one status per job.</param>
public sealed record StatusConfig(Uri ApiUrl, ConfigSecret Token, bool PerJob);

/// <summary>One repository the server runs pipelines for.</summary>
public sealed record RepositoryConfig
{
    /// <summary>As the forge names it in its hooks: owner/name (GitHub, Gitea), the project's path with namespace (GitLab).</summary>
    public required string Name { get; init; }

    public required ForgeKind Forge { get; init; }

    /// <summary>Where the server fetches the repository from (https, ssh or file).</summary>
    public required string CloneUrl { get; init; }

    /// <summary>The webhook secret (GitHub, Gitea: the HMAC key; GitLab: the token it sends, or a whsec_ signing key). Null: the repository accepts no hooks.</summary>
    public ConfigSecret? WebhookSecret { get; init; }

    /// <summary>For cloning over https: a user and a password or token.</summary>
    public string? CloneUsername { get; init; }

    public ConfigSecret? ClonePassword { get; init; }

    /// <summary>Null: no commit statuses are posted.</summary>
    public StatusConfig? Status { get; init; }

    /// <summary>Runs of this repository at once.</summary>
    public int RunsAtOnce { get; init; } = 2;

    /// <summary>A newer push to a branch (or new commits on a pull request) cancels that branch's older queued or running run.</summary>
    public bool CancelRedundant { get; init; } = true;

    public string PipelineFile { get; init; } = Ci.Pipeline.Parsing.PipelineLoader.DefaultFile;

    /// <summary>The pipeline's secrets by name. A pull request from a fork gets none of them.</summary>
    public IReadOnlyDictionary<string, ConfigSecret> Secrets { get; init; } = new Dictionary<string, ConfigSecret>();
}

/// <summary>The server's configuration file (docs/server.md), read and checked by <see cref="ServerConfigReader"/>.</summary>
public sealed record ServerConfig
{
    /// <summary>Where to listen: http://ADDRESS:PORT, or https:// with <see cref="TlsCertificate"/>.</summary>
    public Uri Listen { get; init; } = new("http://127.0.0.1:8080");

    /// <summary>The address users reach the server at (links in commit statuses); default: <see cref="Listen"/>.</summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>Null: the runner's own (RUNNER_STATE_DIR, /var/lib/runner).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Runs at once, over every repository.</summary>
    public int RunsAtOnce { get; init; } = 4;

    /// <summary>Jobs at once within one run.</summary>
    public int JobsPerRun { get; init; } = 2;

    public ViewAccess View { get; init; } = ViewAccess.Public;

    public ConfigSecret? ViewToken { get; init; }

    /// <summary>Needed to cancel and re-run; null: nobody may.</summary>
    public ConfigSecret? AdminToken { get; init; }

    /// <summary>PEM certificate (chain) and key files for https.</summary>
    public string? TlsCertificate { get; init; }

    public string? TlsKey { get; init; }

    /// <summary>How long a SIGTERM waits for running runs before it stops them and leaves them queued.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromMinutes(2);

    public IReadOnlyList<RepositoryConfig> Repositories { get; init; } = [];

    public Uri BaseUrl => PublicUrl ?? Listen;
}
