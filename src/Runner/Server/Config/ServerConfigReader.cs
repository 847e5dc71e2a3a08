using System.Collections;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Values;
using Ci.Pipeline.Yaml;

namespace Ci.Runner.Server.Config;

/// <summary>
/// Reads the server's configuration file into a <see cref="ServerConfig"/>, or reports every
/// problem at once with its position (<c>runner.yml(12,5): error SV0012: …</c>) and returns null.
/// Secrets are read here, from the environment variables and files the file names: a secret
/// written in the file's text is refused, a secret file others can read is refused, and no
/// message ever holds a secret's value.
/// </summary>
public sealed partial class ServerConfigReader
{
    public const string Unreadable = "SV0001", WrongType = "SV0010", MissingKey = "SV0011", UnknownKey = "SV0012", InvalidValue = "SV0013",
        SecretUnreadable = "SV0014", Duplicate = "SV0015";

    private readonly DiagnosticBag _diagnostics = new();
    private readonly IDictionary _environment;

    private ServerConfigReader(IDictionary environment) => _environment = environment;

    public static (ServerConfig? Config, IReadOnlyList<Diagnostic> Diagnostics) Read(string path, IDictionary environment)
    {
        var reader = new ServerConfigReader(environment);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reader._diagnostics.Error(new SourcePosition(path, 1, 1), Unreadable, $"cannot read the configuration: {ex.Message}");
            return (null, reader._diagnostics.Items);
        }

        return reader.ReadText(text, path);
    }

    public static (ServerConfig? Config, IReadOnlyList<Diagnostic> Diagnostics) ReadText(string text, string file, IDictionary environment) =>
        new ServerConfigReader(environment).ReadText(text, file);

    private (ServerConfig?, IReadOnlyList<Diagnostic>) ReadText(string text, string file)
    {
        var root = YamlLoader.Load(text, file, _diagnostics);
        if (root is null)
        {
            return (null, _diagnostics.Items);
        }

        var config = root is YamlMapping map ? ReadServer(map) : null;
        if (root is not YamlMapping)
        {
            Error(root, WrongType, $"the configuration must be a mapping (listen:, repositories:, …), not a {root.KindName}");
        }

        return (_diagnostics.HasErrors ? null : config, _diagnostics.Items);
    }

    private ServerConfig ReadServer(YamlMapping map)
    {
        var config = new ServerConfig();
        var fields = Fields(map, "the configuration", ["listen", "public_url", "state_dir", "runs_at_once", "jobs_per_run", "view", "view_token",
            "admin_token", "tls", "shutdown_grace", "repositories"]);
        if (fields.TryGetValue("listen", out var listen) && Url(listen, "listen", ["http", "https"]) is { } listenUrl)
        {
            config = config with { Listen = listenUrl };
        }

        if (fields.TryGetValue("public_url", out var publicUrl) && Url(publicUrl, "public_url", ["http", "https"]) is { } publicUri)
        {
            config = config with { PublicUrl = publicUri };
        }

        if (fields.TryGetValue("state_dir", out var state) && AbsolutePath(state, "state_dir") is { } stateDir)
        {
            config = config with { StateDirectory = stateDir };
        }

        config = config with
        {
            RunsAtOnce = fields.TryGetValue("runs_at_once", out var runs) ? Count(runs, "runs_at_once", 1, 256) ?? config.RunsAtOnce : config.RunsAtOnce,
            JobsPerRun = fields.TryGetValue("jobs_per_run", out var jobs) ? Count(jobs, "jobs_per_run", 1, 64) ?? config.JobsPerRun : config.JobsPerRun,
            ViewToken = fields.TryGetValue("view_token", out var viewToken) ? Secret(viewToken, "view_token") : null,
            AdminToken = fields.TryGetValue("admin_token", out var adminToken) ? Secret(adminToken, "admin_token") : null,
        };
        if (fields.TryGetValue("view", out var view) && Choice(view, "view", ["public", "token"]) is { } viewValue)
        {
            config = config with { View = viewValue == "token" ? ViewAccess.Token : ViewAccess.Public };
            if (config.View == ViewAccess.Token && !fields.ContainsKey("view_token"))
            {
                Error(view, MissingKey, "view: token needs view_token: the token viewers give (from env: or file:)");
            }
        }

        if (fields.TryGetValue("shutdown_grace", out var grace) && String(grace, "shutdown_grace") is { } graceText)
        {
            if (Units.TryParseDuration(graceText, out var duration, out var error))
            {
                config = config with { ShutdownGrace = duration };
            }
            else
            {
                Error(grace, InvalidValue, $"shutdown_grace: {error}");
            }
        }

        if (fields.TryGetValue("tls", out var tls) && Mapping(tls, "tls") is { } tlsMap)
        {
            var tlsFields = Fields(tlsMap, "tls", ["certificate", "key"], required: ["certificate", "key"]);
            config = config with
            {
                TlsCertificate = tlsFields.TryGetValue("certificate", out var cert) ? ExistingFile(cert, "tls.certificate") : null,
                TlsKey = tlsFields.TryGetValue("key", out var key) ? ExistingFile(key, "tls.key") : null,
            };
        }

        if (config.Listen.Scheme == "https" && !fields.ContainsKey("tls"))
        {
            Error(fields["listen"], MissingKey, "listen: https needs tls: with the certificate and key files; or listen on http behind a proxy that holds them");
        }

        if (!fields.TryGetValue("repositories", out var repositories))
        {
            Error(map, MissingKey, "the configuration needs repositories: the repositories this server runs pipelines for");
        }
        else if (repositories is YamlSequence list)
        {
            var seen = new Dictionary<(ForgeKind, string), YamlNode>();
            var read = new List<RepositoryConfig>();
            foreach (var item in list.Items)
            {
                if (Mapping(item, "a repository") is { } repoMap && ReadRepository(repoMap) is { } repo)
                {
                    if (!seen.TryAdd((repo.Forge, repo.Name.ToLowerInvariant()), item))
                    {
                        Error(item, Duplicate, $"the repository {repo.Name} ({repo.Forge}) is configured twice; one entry each");
                    }

                    read.Add(repo);
                }
            }

            config = config with { Repositories = read };
            if (list.Items.Count == 0)
            {
                Error(repositories, MissingKey, "repositories is empty: name at least one repository the server runs pipelines for");
            }
        }
        else
        {
            Error(repositories, WrongType, $"repositories must be a list, not a {repositories.KindName}");
        }

        return config;
    }
}
