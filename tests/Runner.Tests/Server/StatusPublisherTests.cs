using Ci.Runner.Server.Config;
using Ci.Runner.Server.Forges;

namespace Ci.Runner.Tests.Server;

/// <summary>Commit statuses as each forge's API documents them, posted to a real HTTP server that checks the token and the fields, and retried when it is down.</summary>
public sealed class StatusPublisherTests
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";

    private static RepositoryConfig Repo(ForgeKind forge, string name, string api) => new()
    {
        Name = name, Forge = forge, CloneUrl = "https://example.org/x.git",
        Status = new StatusConfig(new Uri(api), new ConfigSecret("tok-1", "test"), PerJob: false),
    };

    private static async Task PostAsync(RepositoryConfig repo, params CommitState[] states)
    {
        await using var publisher = new StatusPublisher(new HttpClient(), Serilog.Core.Logger.None, firstDelay: TimeSpan.FromMilliseconds(20));
        foreach (var state in states)
        {
            publisher.Post(new CommitStatus(repo, Commit, "runner", state, state.ToString().ToLowerInvariant(), new Uri("https://ci.example.org/runs/7")));
        }

        await publisher.FlushAsync();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task GitLab_gets_its_own_states_at_its_project_path_with_its_token_header()
    {
        await using var forge = new FakeForge("gitlab", "tok-1");
        await PostAsync(Repo(ForgeKind.GitLab, "group/sub/app", forge.BaseUrl + "api/v4"), CommitState.Pending, CommitState.Running, CommitState.Failure, CommitState.Cancelled);
        Assert.That(forge.Requests.Select(r => r.Path).Distinct(), Is.EqualTo(new[] { $"/api/v4/projects/group%2Fsub%2Fapp/statuses/{Commit}" }));
        Assert.That(forge.States("runner", key: "name"), Is.EqualTo(new[] { "pending", "running", "failed", "canceled" }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Gitea_gets_GitHubs_states_with_its_token_scheme()
    {
        await using var forge = new FakeForge("gitea", "tok-1");
        await PostAsync(Repo(ForgeKind.Gitea, "acme/app", forge.BaseUrl + "api/v1"), CommitState.Pending, CommitState.Running, CommitState.Success);
        Assert.That(forge.Requests.Select(r => r.Path).Distinct(), Is.EqualTo(new[] { $"/api/v1/repos/acme/app/statuses/{Commit}" }));
        Assert.That(forge.States("runner"), Is.EqualTo(new[] { "pending", "pending", "success" }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_forge_that_is_down_gets_the_latest_state_when_it_is_back()
    {
        await using var forge = new FakeForge("github", "tok-1");
        forge.FailNext(3);
        await PostAsync(Repo(ForgeKind.GitHub, "acme/app", forge.BaseUrl), CommitState.Pending, CommitState.Running, CommitState.Success);
        Assert.That(forge.Requests.Count(r => r.Answer == 503), Is.EqualTo(3));
        Assert.That(forge.States("runner")[^1], Is.EqualTo("success"), "the commit ends with its latest state");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_refused_token_is_not_retried()
    {
        await using var forge = new FakeForge("github", "another-token");
        await PostAsync(Repo(ForgeKind.GitHub, "acme/app", forge.BaseUrl), CommitState.Pending);
        Assert.That(forge.Requests.Select(r => r.Answer), Is.EqualTo(new[] { 401 }));
    }
}
