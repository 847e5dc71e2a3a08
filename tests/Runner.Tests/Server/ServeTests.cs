using System.Net;
using System.Text.Json;
using Ci.Runner.Tests.Sources;

namespace Ci.Runner.Tests.Server;

/// <summary>
/// <c>runner serve</c> end to end: a real git repository served over HTTP, signed hooks from a
/// test client, real containers, and a fake forge that records the commit statuses.
/// </summary>
[Category("Container")]
public sealed class ServeTests : ExecFixture
{
    private const string Secret = "hook-secret-9c1e";
    private const string ForgeToken = "forge-token-77ab";
    private const string AdminToken = "admin-token-0d4f";
    private const string Repository = "acme/app";

    private sealed record Setup(ServerProcess Server, FakeForge Forge, GitHttpServer Git, string Work, string State) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Forge.DisposeAsync();
            await Git.DisposeAsync();
        }
    }

    /// <summary>A repository (pushed to a bare one the git server serves), the forge, and the server configured for them, started.</summary>
    private async Task<Setup> StartAsync(string pipeline, string extraConfig = "", string? state = null)
    {
        var work = await RepositoryAsync(pipeline);
        var served = Directory.CreateDirectory(Path.Combine(Dir, "served-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        await GitAsync(Dir, "clone", "-q", "--bare", work, Path.Combine(served, "app.git"));
        var git = GitHttpServer.Start(served);
        var forge = new FakeForge("github", ForgeToken);
        state ??= NewState("serve");
        if (!File.Exists(Path.Combine(state, "images.done")))
        {
            await ImportBusyboxAsync(state);
            await File.WriteAllTextAsync(Path.Combine(state, "images.done"), "");
        }

        var port = Ci.Tests.Shared.LoopbackHttp.FreePort();
        var config = Path.Combine(Dir, $"server-{port}.yml");
        await File.WriteAllTextAsync(config, $$"""
            listen: http://127.0.0.1:{{port}}
            state_dir: {{state}}
            admin_token: { env: TEST_ADMIN_TOKEN }
            shutdown_grace: 5s
            repositories:
              - name: {{Repository}}
                forge: github
                clone_url: {{git.BaseUrl}}app.git
                webhook_secret: { env: TEST_HOOK_SECRET }
                status:
                  api_url: {{forge.BaseUrl}}
                  token: { env: TEST_FORGE_TOKEN }
            {{extraConfig}}
            """);
        var server = new ServerProcess(port);
        await server.StartAsync(WithFixture(Cli.RunnerCli.Command("serve", "--config", config), state,
            ("TEST_HOOK_SECRET", Secret), ("TEST_FORGE_TOKEN", ForgeToken), ("TEST_ADMIN_TOKEN", AdminToken)));
        return new Setup(server, forge, git, work, state);
    }

    private static async Task<JsonElement> SendAsync(ServerProcess server, HttpRequestMessage request, HttpStatusCode expected)
    {
        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> WaitForRunAsync(ServerProcess server, long id, Func<JsonElement, bool>? until = null)
    {
        until ??= run => run.GetProperty("run").GetProperty("state").GetString() == "done";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var run = JsonDocument.Parse(await server.Http.GetStringAsync($"{server.Url}api/runs/{id}")).RootElement.Clone();
            if (until(run))
            {
                return run;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"run {id} did not get there in 90 s: {run}\n{server.Log}");
            }

            await Task.Delay(100);
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_signed_push_runs_the_pipeline_in_containers_and_the_commit_shows_pending_running_and_success()
    {
        await using var setup = await StartAsync($"""
            jobs:
              build:
                image: {BusyboxImage}
                steps:
                  - run: echo built $CI_COMMIT_BRANCH
            """);
        var head = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var delivery = Guid.NewGuid().ToString();
        var push = Hooks.GitHubPush(Repository, "main", Hooks.NoCommit, head, "first commit");

        var answer = await SendAsync(setup.Server, Hooks.GitHub(setup.Server.Url, "push", push, Secret, delivery), HttpStatusCode.Created);
        var id = answer.GetProperty("run").GetInt64();
        Assert.That(answer.GetProperty("url").GetString(), Is.EqualTo($"{setup.Server.Url}runs/{id}"));

        // The forge sends a delivery again (its retry, or a redelivery by hand): the same run, not a second.
        var again = await SendAsync(setup.Server, Hooks.GitHub(setup.Server.Url, "push", push, Secret, delivery), HttpStatusCode.OK);
        Assert.That((again.GetProperty("run").GetInt64(), again.GetProperty("duplicate").GetBoolean()), Is.EqualTo((id, true)));

        var run = await WaitForRunAsync(setup.Server, id);
        Assert.That(run.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("passed"), run.ToString() + setup.Server.Log);
        var logs = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{id}/logs");
        Assert.That(logs, Does.Contain("built main"));
        var runs = JsonDocument.Parse(await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs")).RootElement;
        Assert.That(runs.GetArrayLength(), Is.EqualTo(1));

        await setup.Server.StopAsync(); // statuses are posted before it exits
        Assert.That(setup.Forge.States("runner"), Is.EqualTo(new[] { "pending", "pending", "success" }));
        var posted = setup.Forge.Requests.Where(r => r.Answer == 201).ToList();
        Assert.That(posted.Select(r => r.Path).Distinct(), Is.EqualTo(new[] { $"/repos/{Repository}/statuses/{head}" }));
        Assert.That(posted[1].Body.GetProperty("description").GetString(), Is.EqualTo("running"));
        Assert.That(posted[^1].Body.GetProperty("target_url").GetString(), Is.EqualTo($"{setup.Server.Url}runs/{id}"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_hook_with_a_wrong_signature_gets_401_and_creates_no_run()
    {
        await using var setup = await StartAsync($"""
            jobs:
              build:
                image: {BusyboxImage}
                steps:
                  - run: "true"
            """);
        var head = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var push = Hooks.GitHubPush(Repository, "main", Hooks.NoCommit, head, "x");

        var forged = Hooks.GitHub(setup.Server.Url, "push", push, "not-the-secret");
        var refused = await SendAsync(setup.Server, forged, HttpStatusCode.Unauthorized);
        Assert.That(refused.GetProperty("error").GetString(), Does.Contain("does not match"));

        var unsigned = Hooks.GitHub(setup.Server.Url, "push", push, Secret);
        unsigned.Headers.Remove("X-Hub-Signature-256");
        await SendAsync(setup.Server, unsigned, HttpStatusCode.Unauthorized);

        // The body changed after signing (a man in the middle): refused.
        var tampered = Hooks.GitHub(setup.Server.Url, "push", push, Secret);
        var body = (await tampered.Content!.ReadAsStringAsync()).Replace("\"message\":\"x\"", "\"message\":\"y\"", StringComparison.Ordinal);
        tampered.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        await SendAsync(setup.Server, tampered, HttpStatusCode.Unauthorized);

        var runs = JsonDocument.Parse(await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs")).RootElement;
        Assert.That(runs.GetArrayLength(), Is.EqualTo(0));
        var metrics = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}metrics");
        Assert.That(metrics, Does.Contain("runner_hooks_rejected_total{reason=\"bad_signature\"} 3"));
        Assert.That(setup.Server.Log, Does.Not.Contain(Secret).And.Not.Contain("\"commits\""), "the log names the delivery and the reason, never the secret or the body");
    }
}
