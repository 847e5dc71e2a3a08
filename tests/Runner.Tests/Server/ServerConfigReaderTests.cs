using System.Collections;
using Ci.Runner.Server.Config;

namespace Ci.Runner.Tests.Server;

/// <summary>The server's configuration: read whole, every mistake reported with its line, secrets only from where they belong.</summary>
public sealed class ServerConfigReaderTests
{
    private static readonly Hashtable Environment = new() { ["HOOK"] = "h00k", ["TOKEN"] = "t0ken" };

    private static (ServerConfig?, IReadOnlyList<string>) Read(string yaml)
    {
        var (config, diagnostics) = ServerConfigReader.ReadText(yaml, "server.yml", Environment);
        return (config, [.. diagnostics.Select(d => d.ToString())]);
    }

    [Test]
    public void A_complete_configuration_is_read_with_its_secrets_from_the_environment_and_files()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "admin");
        File.WriteAllText(file, "adm1n\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var (config, diagnostics) = Read($"""
            listen: http://0.0.0.0:8080
            public_url: https://ci.example.org/
            runs_at_once: 3
            admin_token: {'{'} file: {file} {'}'}
            shutdown_grace: 30s
            repositories:
              - name: acme/web
                forge: github
                clone_url: git@github.com:acme/web.git
                webhook_secret: {'{'} env: HOOK {'}'}
                status: {'{'} api_url: https://api.github.com, token: {'{'} env: TOKEN {'}'}, per_job: true {'}'}
                runs_at_once: 1
                cancel_redundant: false
                secrets:
                  NPM_TOKEN: {'{'} env: TOKEN {'}'}
            """);
        Assert.That(diagnostics, Is.Empty);
        var repo = config!.Repositories.Single();
        Assert.That((config.RunsAtOnce, config.ShutdownGrace, config.AdminToken!.Value, config.BaseUrl.AbsoluteUri),
            Is.EqualTo((3, TimeSpan.FromSeconds(30), "adm1n", "https://ci.example.org/")));
        Assert.That((repo.Forge, repo.CloneUrl, repo.WebhookSecret!.Value, repo.Status!.PerJob, repo.RunsAtOnce, repo.CancelRedundant, repo.Secrets["NPM_TOKEN"].Value),
            Is.EqualTo((ForgeKind.GitHub, "git@github.com:acme/web.git", "h00k", true, 1, false, "t0ken")));
        Assert.That(repo.WebhookSecret.ToString(), Does.Not.Contain("h00k"), "a secret prints as a mask");
    }

    [Test]
    public void Every_mistake_is_reported_at_once_with_its_position()
    {
        var (config, diagnostics) = Read("""
            listen: ftp://x
            runs_at_once: lots
            view: tokens
            repositories:
              - name: web
                forge: bitbucket
                clone_url: https://example.org/web.git
                webhook_secret: plain-text-secret
                status: { api_url: https://api.github.com }
                pipelines: x.yml
            """);
        Assert.That(config, Is.Null);
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "server.yml(1,9): error SV0013: listen: 'ftp://x' is not a URL (http://, https://)",
            "server.yml(2,15): error SV0013: runs_at_once must be a whole number from 1 to 256",
            "server.yml(3,7): error SV0013: view must be one of public, token, not 'tokens' (did you mean 'token'?)",
            "server.yml(10,5): error SV0012: a repository has no key 'pipelines' (did you mean 'pipeline'?)",
            "server.yml(6,12): error SV0013: forge must be one of github, gitlab, gitea, forgejo, not 'bitbucket'",
        }));
    }

    [Test]
    public void A_secret_written_in_the_file_an_unset_variable_and_a_file_others_can_read_are_refused()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "token");
        File.WriteAllText(file, "x");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var (_, diagnostics) = Read($"""
            admin_token: plain
            view_token: {'{'} env: NOT_SET {'}'}
            repositories:
              - name: acme/web
                forge: gitea
                clone_url: https://example.org/web.git
                webhook_secret: {'{'} file: {file} {'}'}
            """);
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "server.yml(2,20): error SV0014: view_token: the environment variable NOT_SET is not set (or is empty)",
            "server.yml(1,14): error SV0013: admin_token: a secret is read from an environment variable ({ env: NAME }) or a file ({ file: /path }), never written in the configuration",
            $"server.yml(7,29): error SV0014: webhook_secret: other users can read or write {file} (mode 604); 'chmod 600 {file}'",
        }));
    }

    [Test]
    public void A_server_without_repositories_is_refused()
    {
        Assert.That(Read("repositories: []").Item2, Is.EqualTo(new[]
        {
            "server.yml(1,15): error SV0011: repositories is empty: name at least one repository the server runs pipelines for",
        }));
        Assert.That(Read("listen: http://127.0.0.1:8080").Item2, Is.EqualTo(new[]
        {
            "server.yml(1,1): error SV0011: the configuration needs repositories: the repositories this server runs pipelines for",
        }));
    }
}
