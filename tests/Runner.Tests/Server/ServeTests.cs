using System.Net;
using CliWrap;
using CliWrap.Buffered;
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

    private sealed record Setup(ServerProcess Server, FakeForge Forge, GitHttpServer Git, string Work, string State, string Config, Command Command) : IAsyncDisposable
    {
        public ServerProcess Server { get; set; } = Server;

        /// <summary>Commits <paramref name="pipeline"/> and pushes it to the served repository; returns the commit.</summary>
        public async Task<string> PushAsync(string pipeline)
        {
            await CommitAsync(Work, ".runner.yml", pipeline);
            await GitAsync(Work, "push", "-q", "served", "HEAD:main");
            return await GitAsync(Work, "rev-parse", "HEAD");
        }

        /// <summary>The server again, with the same configuration and state (after a stop or a kill).</summary>
        public async Task RestartAsync()
        {
            await Server.DisposeAsync();
            Server = new ServerProcess(Server.Port);
            await Server.StartAsync(Command);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Forge.DisposeAsync();
            await Git.DisposeAsync();
        }
    }

    /// <summary>A repository (pushed to a bare one the git server serves), the forge, and the server configured for them, started.</summary>
    private async Task<Setup> StartAsync(string pipeline, string extraConfig = "", string? state = null, string repositoryConfig = "", string scheme = "http", HttpClient? https = null, bool perJob = false, string logFormat = "text", string forgeKind = "github", string repository = Repository)
    {
        var work = await RepositoryAsync(pipeline);
        var served = Directory.CreateDirectory(Path.Combine(Dir, "served-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        await GitAsync(Dir, "clone", "-q", "--bare", work, Path.Combine(served, "app.git"));
        await GitAsync(work, "remote", "add", "served", Path.Combine(served, "app.git"));
        var git = GitHttpServer.Start(served);
        var forge = new FakeForge(forgeKind, ForgeToken);
        state ??= NewState("serve");
        if (!File.Exists(Path.Combine(state, "images.done")))
        {
            await ImportBusyboxAsync(state);
            await File.WriteAllTextAsync(Path.Combine(state, "images.done"), "");
        }

        var port = Ci.Tests.Shared.LoopbackHttp.FreePort();
        var config = Path.Combine(Dir, $"server-{port}.yml");
        await File.WriteAllTextAsync(config, $$"""
            listen: {{scheme}}://127.0.0.1:{{port}}
            state_dir: {{state}}
            admin_token: { env: TEST_ADMIN_TOKEN }
            shutdown_grace: 5s
            repositories:
              - name: {{repository}}
                forge: {{forgeKind}}
                clone_url: {{git.BaseUrl}}app.git
                webhook_secret: { env: TEST_HOOK_SECRET }
                status:
                  api_url: {{forge.BaseUrl}}
                  token: { env: TEST_FORGE_TOKEN }
                  per_job: {{(perJob ? "true" : "false")}}
            {{repositoryConfig}}
            {{extraConfig}}
            """);
        var server = new ServerProcess(port, https);
        var command = WithFixture(Cli.RunnerCli.Command("serve", "--config", config, "--log-format", logFormat), state,
            ("TEST_HOOK_SECRET", Secret), ("TEST_FORGE_TOKEN", ForgeToken), ("TEST_ADMIN_TOKEN", AdminToken), ("TEST_DEPLOY", "deploy-value-5e7"));
        await server.StartAsync(command);
        return new Setup(server, forge, git, work, state, config, command);
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
        var metrics = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}metrics");
        // The redelivery is a hook received too; it made no second run.
        Assert.That(metrics, Does.Contain("runner_container_start_seconds_count 1").And.Contain("runner_step_duration_seconds_count 1")
            .And.Contain("runner_hooks_received_total{forge=\"github\",event=\"push\"} 2").And.Contain("runner_runs_finished_total{status=\"passed\"} 1"));

        // The CLI reads the same from the server.
        var listed = await Cli.RunnerCli.Command("runs", "--server", setup.Server.Url).ExecuteBufferedAsync();
        Assert.That(listed.StandardOutput, Does.Match($@"(?m)^\s*{id}\s+\S+ \S+\s+passed\s+.*main\s+{head[..8]}\s+{Repository}"), listed.StandardError);
        var printed = await Cli.RunnerCli.Command("logs", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--server", setup.Server.Url).ExecuteBufferedAsync();
        Assert.That(printed.StandardOutput, Is.EqualTo("[build:1] built main\n"), printed.StandardError);

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

    private static string Pipeline(string script) => $"""
        jobs:
          build:
            image: {BusyboxImage}
            steps:
              - run: {script}
        """;

    private static async Task<long> PushHookAsync(Setup setup, string commit, string branch = "main")
    {
        var push = Hooks.GitHubPush(Repository, branch, Hooks.NoCommit, commit, "change");
        var answer = await SendAsync(setup.Server, Hooks.GitHub(setup.Server.Url, "push", push, Secret), HttpStatusCode.Created);
        return answer.GetProperty("run").GetInt64();
    }

    private static bool InState(JsonElement run, string state) => run.GetProperty("run").GetProperty("state").GetString() == state;

    private static int SleepProcesses(string marker) =>
        Directory.GetDirectories("/proc").Count(d => int.TryParse(Path.GetFileName(d), out _)
            && Try(() => File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ')) is { } cmd && cmd.Contains(marker, StringComparison.Ordinal));

    private static string? Try(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task After_a_kill_9_of_the_server_its_running_run_is_cleaned_up_and_run_again_once_marked_as_a_retry()
    {
        await using var setup = await StartAsync(Pipeline("sleep 3.71 && echo finished"));
        var head = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var id = await PushHookAsync(setup, head);
        await WaitForRunAsync(setup.Server, id, run => InState(run, "running") && run.GetProperty("run").GetProperty("records").GetArrayLength() == 1);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (SleepProcesses("sleep 3.71") == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await setup.Server.KillAsync();
        await Task.Delay(200);
        Assert.That(SleepProcesses("sleep 3.71"), Is.EqualTo(0), "a container's init dies with its runner (its parent-death signal)");

        await setup.RestartAsync();
        var done = await WaitForRunAsync(setup.Server, id);
        var run = done.GetProperty("run");
        Assert.That((run.GetProperty("status").GetString(), run.GetProperty("attempt").GetInt32(), run.GetProperty("records").GetArrayLength()),
            Is.EqualTo(("passed", 2, 2)), done.ToString());
        Assert.That(run.GetProperty("note").GetString(), Does.StartWith("passed"));
        var leftovers = Directory.GetDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, CgroupParent)).Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories).ToList();
        Assert.That(leftovers, Is.Empty, "the restart removed the killed server's cgroups");
        Assert.That(setup.Server.Log, Does.Contain($"Run {id} of {Repository} was running when the server stopped; it runs again"));
        var logs = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{id}/logs");
        Assert.That(logs, Does.Contain("finished"));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_SIGTERM_lets_the_running_run_finish_and_leaves_the_queued_one_for_the_next_start()
    {
        await using var setup = await StartAsync(Pipeline("sleep 1.5 && echo finished"), extraConfig: "runs_at_once: 1");
        var head = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var first = await PushHookAsync(setup, head, "main");
        var second = await PushHookAsync(setup, head, "dev");
        await WaitForRunAsync(setup.Server, first, run => InState(run, "running"));

        Assert.That(await setup.Server.StopAsync(), Is.EqualTo(0), setup.Server.Log);
        var queue = Ci.Runner.Engine.Queue.SqliteRunQueue.Open(setup.State);
        Assert.That((queue.Find(first)!.Status, queue.Find(second)!.State), Is.EqualTo(("passed", Ci.Runner.Engine.Queue.QueueState.Queued)));

        await setup.RestartAsync();
        var done = await WaitForRunAsync(setup.Server, second);
        Assert.That(done.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("passed"));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_newer_push_to_the_branch_cancels_the_running_run_and_the_commit_says_so()
    {
        await using var setup = await StartAsync(Pipeline("sleep 60"));
        var slow = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var first = await PushHookAsync(setup, slow);
        await WaitForRunAsync(setup.Server, first, run => InState(run, "running") && run.GetProperty("run").GetProperty("records").GetArrayLength() == 1);

        var fast = await setup.PushAsync(Pipeline("echo fast"));
        var second = await PushHookAsync(setup, fast);
        var cancelled = (await WaitForRunAsync(setup.Server, first)).GetProperty("run");
        Assert.That((cancelled.GetProperty("status").GetString(), cancelled.GetProperty("note").GetString()),
            Is.EqualTo(("cancelled", $"cancelled: superseded by run {second}")));
        Assert.That((await WaitForRunAsync(setup.Server, second)).GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("passed"));

        await setup.Server.StopAsync();
        Assert.That(setup.Forge.States("runner").Count, Is.GreaterThanOrEqualTo(4));
        var forSlow = setup.Forge.Requests.Where(r => r.Answer == 201 && r.Path.EndsWith(slow, StringComparison.Ordinal)).ToList();
        Assert.That((forSlow[^1].Body.GetProperty("state").GetString(), forSlow[^1].Body.GetProperty("description").GetString()),
            Is.EqualTo(("error", $"cancelled: superseded by run {second}")));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Cancel_needs_the_admin_token_in_a_header_and_refuses_another_sites_request()
    {
        await using var setup = await StartAsync(Pipeline("sleep 60"));
        var id = await PushHookAsync(setup, await GitAsync(setup.Work, "rev-parse", "HEAD"));
        await WaitForRunAsync(setup.Server, id, run => InState(run, "running") && run.GetProperty("run").GetProperty("records").GetArrayLength() == 1);

        HttpRequestMessage Cancel(string? token, string? origin = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"{setup.Server.Url}api/runs/{id}/cancel");
            if (token is not null)
            {
                request.Headers.Authorization = new("Bearer", token);
            }

            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            return request;
        }

        await SendAsync(setup.Server, Cancel(null), HttpStatusCode.Unauthorized);
        await SendAsync(setup.Server, Cancel("wrong"), HttpStatusCode.Unauthorized);
        await SendAsync(setup.Server, Cancel(AdminToken, "https://evil.example"), HttpStatusCode.Forbidden);
        Assert.That(InState(JsonDocument.Parse(await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{id}")).RootElement, "running"));

        await SendAsync(setup.Server, Cancel(AdminToken, setup.Server.Url.TrimEnd('/')), HttpStatusCode.Accepted);
        var run = (await WaitForRunAsync(setup.Server, id)).GetProperty("run");
        Assert.That(run.GetProperty("status").GetString(), Is.EqualTo("cancelled"));
        Assert.That(SleepProcesses("sleep 60"), Is.EqualTo(0));
    }

    [Test]
    [Category("Browser")]
    [CancelAfter(240_000)]
    public async Task In_a_browser_the_run_appears_its_log_grows_live_as_text_and_cancel_stops_it()
    {
        if (!File.Exists(Browser.Chromium))
        {
            Assert.Ignore($"no browser: {Browser.Chromium} (apt-get install chromium; CI installs it)");
        }

        await using var setup = await StartAsync($$"""
            jobs:
              build:
                image: {{BusyboxImage}}
                steps:
                  - run: echo '<script>alert(1)</script><b>bold</b>'
                  - run: for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.4; done
              deploy:
                image: {{BusyboxImage}}
                needs: [build]
                steps:
                  - run: sleep 60
            """);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var alerts = 0;
        page.Dialog += async (_, dialog) =>
        {
            if (dialog.Type == "prompt")
            {
                await dialog.AcceptAsync(AdminToken);
            }
            else
            {
                alerts++;
                await dialog.DismissAsync();
            }
        };

        await page.GotoAsync(setup.Server.Url);
        var id = await PushHookAsync(setup, await GitAsync(setup.Work, "rev-parse", "HEAD"));
        var row = page.Locator($"tr[data-run='{id}']");
        await row.WaitForAsync(new() { Timeout = 15_000 }); // the list refreshes itself
        await row.Locator("a").ClickAsync();
        await page.WaitForURLAsync($"**/runs/{id}");

        var log = page.Locator("#log");
        await Microsoft.Playwright.Assertions.Expect(log).ToContainTextAsync("line 2", new() { Timeout = 60_000 });
        var early = await log.InnerTextAsync();
        await Microsoft.Playwright.Assertions.Expect(log).ToContainTextAsync("line 9", new() { Timeout = 30_000 });
        Assert.That(early, Does.Not.Contain("line 9"), "the log grew while the step ran, not all at once at its end");
        Assert.That(await log.InnerTextAsync(), Does.Contain("<script>alert(1)</script><b>bold</b>"), "markup a step prints is shown as text");
        Assert.That(await log.Locator("b").CountAsync(), Is.EqualTo(0));

        await Microsoft.Playwright.Assertions.Expect(page.Locator("#node-deploy .badge")).ToHaveTextAsync("running", new() { Timeout = 30_000 });
        await page.Locator("#cancel").ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(page.Locator("#title .badge")).ToHaveTextAsync("cancelled", new() { Timeout = 30_000 });
        Assert.That(alerts, Is.EqualTo(0), "no script from a log ran");
        Assert.That(SleepProcesses("sleep 60"), Is.EqualTo(0));

        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "run-page.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        TestContext.AddTestAttachment(screenshot, "the run page after cancel");
    }

    private static async Task<long> PullRequestHookAsync(Setup setup, string head, string headRepository, string headBranch, int number)
    {
        var pr = Hooks.GitHubPullRequest(Repository, "opened", number, head, headRepository, "main", headBranch);
        var answer = await SendAsync(setup.Server, Hooks.GitHub(setup.Server.Url, "pull_request", pr, Secret), HttpStatusCode.Created);
        return answer.GetProperty("run").GetInt64();
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_pull_request_from_a_fork_runs_without_the_repositorys_secrets()
    {
        await using var setup = await StartAsync($$$"""
            secrets:
              - DEPLOY_TOKEN: { optional: true }
            jobs:
              build:
                image: {{{BusyboxImage}}}
                env: { DEPLOY_TOKEN: "${{ secrets.DEPLOY_TOKEN }}" }
                steps:
                  - run: if [ -n "$DEPLOY_TOKEN" ]; then echo "has secret $DEPLOY_TOKEN"; else echo no secret; fi
            """, repositoryConfig: "    secrets: { DEPLOY_TOKEN: { env: TEST_DEPLOY } }");
        var head = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var own = await PullRequestHookAsync(setup, head, Repository, "feature", 1);
        // Followed live from before it starts: the stream is masked as the records are.
        var stream = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{own}/events");
        Assert.That(stream, Does.Contain("has secret ***").And.Not.Contain("deploy-value-5e7"));
        Assert.That(stream, Does.Contain("\"type\":\"run_started\"").And.EndWith("event: end\ndata: {}\n\n"));
        var fork = await PullRequestHookAsync(setup, head, "mallory/app", "evil", 2);
        foreach (var id in new[] { own, fork })
        {
            Assert.That((await WaitForRunAsync(setup.Server, id)).GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("passed"));
        }

        var ownLog = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{own}/logs");
        var forkLog = await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{fork}/logs");
        Assert.That(ownLog, Does.Contain("has secret ***").And.Not.Contain("deploy-value-5e7"), "the repository's own pull request has it, masked");
        Assert.That(forkLog, Does.Contain("no secret"));
        var runs = JsonDocument.Parse(await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs")).RootElement;
        Assert.That(runs.EnumerateArray().Single(r => r.GetProperty("id").GetInt64() == fork).GetProperty("untrusted").GetBoolean(), Is.True);
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_pull_requests_paths_filter_is_matched_against_the_files_it_changes_from_the_mirror()
    {
        var pipeline = $$"""
            on:
              pull_request:
                paths: ["src/**"]
            jobs:
              build:
                image: {{BusyboxImage}}
                steps:
                  - run: echo built
            """;
        await using var setup = await StartAsync(pipeline);
        await GitAsync(setup.Work, "checkout", "-q", "-b", "docs");
        await CommitAsync(setup.Work, "README.md", "words\n");
        var docs = await GitAsync(setup.Work, "rev-parse", "HEAD");
        await GitAsync(setup.Work, "checkout", "-q", "-b", "code", "main");
        Directory.CreateDirectory(Path.Combine(setup.Work, "src"));
        await CommitAsync(setup.Work, "src/a.c", "int main;\n");
        var code = await GitAsync(setup.Work, "rev-parse", "HEAD");
        await GitAsync(setup.Work, "push", "-q", "served", "docs", "code");

        var skipped = (await WaitForRunAsync(setup.Server, await PullRequestHookAsync(setup, docs, Repository, "docs", 3))).GetProperty("run");
        Assert.That((skipped.GetProperty("status").GetString(), skipped.GetProperty("note").GetString()), Is.EqualTo(("skipped", "not triggered: no changed file matches on.pull_request.paths")));
        var built = (await WaitForRunAsync(setup.Server, await PullRequestHookAsync(setup, code, Repository, "code", 4))).GetProperty("run");
        Assert.That(built.GetProperty("status").GetString(), Is.EqualTo("passed"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Over_https_from_certificate_files_with_view_token_viewing_needs_the_token()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = Path.Combine(Dir, "tls.crt");
        var keyFile = Path.Combine(Dir, "tls.key");
        await File.WriteAllTextAsync(certFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        var thumbprint = certificate.Thumbprint;
        using var https = new HttpClient(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == thumbprint, // this certificate and no other
        }) { Timeout = TimeSpan.FromSeconds(30) };

        await using var setup = await StartAsync(Pipeline("echo over-tls"), extraConfig: $$"""
            tls: { certificate: {{certFile}}, key: {{keyFile}} }
            view: token
            view_token: { env: TEST_FORGE_TOKEN }
            """, scheme: "https", https: https);
        var id = await PushHookAsync(setup, await GitAsync(setup.Work, "rev-parse", "HEAD"));

        using (var anonymous = await https.GetAsync($"{setup.Server.Url}api/runs/{id}"))
        {
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        https.DefaultRequestHeaders.Authorization = new("Bearer", ForgeToken);
        var done = await WaitForRunAsync(setup.Server, id);
        Assert.That(done.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("passed"));

        // Re-run: the same trigger as a new run.
        using var rerun = new HttpRequestMessage(HttpMethod.Post, $"{setup.Server.Url}api/runs/{id}/rerun");
        rerun.Headers.Authorization = new("Bearer", AdminToken);
        var again = (await SendAsync(setup.Server, rerun, HttpStatusCode.Created)).GetProperty("run").GetInt64();
        var second = (await WaitForRunAsync(setup.Server, again)).GetProperty("run");
        Assert.That((again, second.GetProperty("status").GetString(), second.GetProperty("commit").GetString()),
            Is.EqualTo((id + 1, "passed", done.GetProperty("run").GetProperty("commit").GetString())));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Per_job_statuses_name_each_job_and_the_log_can_be_json_lines()
    {
        await using var setup = await StartAsync($"""
            jobs:
              build:
                image: {BusyboxImage}
                steps: ["true"]
              test:
                image: {BusyboxImage}
                needs: [build]
                steps: ["exit 3"]
            """, perJob: true, logFormat: "json");
        var id = await PushHookAsync(setup, await GitAsync(setup.Work, "rev-parse", "HEAD"));
        Assert.That((await WaitForRunAsync(setup.Server, id)).GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"));
        await setup.Server.StopAsync();
        Assert.That(setup.Forge.States("runner/build"), Is.EqualTo(new[] { "pending", "success" }));
        Assert.That(setup.Forge.States("runner/test"), Is.EqualTo(new[] { "pending", "failure" }));
        Assert.That(setup.Forge.States("runner")[^1], Is.EqualTo("failure"));

        var lines = setup.Server.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).ToList();
        Assert.That(lines, Is.Not.Empty);
        var hookLine = lines.Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("MessageTemplate").GetString()!.StartsWith("Hook {Delivery}", StringComparison.Ordinal));
        Assert.That(hookLine.GetProperty("Properties").GetProperty("Run").GetInt64(), Is.EqualTo(id), "structured: the run is a field, not only text");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_body_over_25_MB_is_refused_with_413_before_it_is_read_whole()
    {
        await using var setup = await StartAsync(Pipeline("true"));
        // As a client that announces 26 MB: the answer comes before the body is sent (a forge would see it; HttpClient stops at the closed pipe).
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, setup.Server.Port);
        var stream = client.GetStream();
        var head = $"POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n" +
            $"X-GitHub-Delivery: big-1\r\nX-Hub-Signature-256: sha256={new string('0', 64)}\r\nContent-Length: {26 * 1024 * 1024}\r\n\r\n{{\"ref\":";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        var answer = await new StreamReader(stream).ReadToEndAsync();
        Assert.That(answer, Does.StartWith("HTTP/1.1 413"));
        Assert.That(answer, Does.Contain("a hook may be at most 26214400"));
        Assert.That(await setup.Server.Http.GetStringAsync($"{setup.Server.Url}metrics"), Does.Contain("runner_hooks_rejected_total{reason=\"too_large\"} 1"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_jobs_artifacts_are_listed_and_downloaded_and_no_other_file_is_served()
    {
        await using var setup = await StartAsync($"""
            jobs:
              build:
                image: {BusyboxImage}
                artifacts: [out/*.txt]
                steps:
                  - run: mkdir -p out && echo made-by-build > out/app.txt && ln -s /etc/shadow out/link.txt
            """);
        var id = await PushHookAsync(setup, await GitAsync(setup.Work, "rev-parse", "HEAD"));
        var run = await WaitForRunAsync(setup.Server, id);
        var artifacts = run.GetProperty("artifacts").EnumerateArray().ToList();
        Assert.That(artifacts.Select(a => (a.GetProperty("job").GetString(), a.GetProperty("path").GetString())), Is.EqualTo(new[] { ("build", "out/app.txt") }),
            "a link the job made is kept as a link and not offered");
        var url = setup.Server.Url.TrimEnd('/') + artifacts[0].GetProperty("url").GetString();
        Assert.That(await setup.Server.Http.GetStringAsync(url), Is.EqualTo("made-by-build\n"));

        foreach (var probe in new[] { "build/out/link.txt", "build/..%2F..%2F..%2Fqueue.db", "build/%2Fetc%2Fpasswd", "other/out/app.txt" })
        {
            using var response = await setup.Server.Http.GetAsync($"{setup.Server.Url}api/runs/{id}/artifacts/{probe}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), probe);
        }
    }

    [TestCase("gitlab")]
    [TestCase("gitea")]
    [CancelAfter(120_000)]
    public async Task A_GitLab_or_Gitea_push_runs_and_its_forge_gets_its_own_statuses(string forgeKind)
    {
        const string name = "group/sub/app";
        await using var setup = await StartAsync(Pipeline("echo from-$CI_COMMIT_BRANCH"), forgeKind: forgeKind, repository: name);
        var head = await GitAsync(setup.Work, "rev-parse", "HEAD");
        var before = new string('b', 40);
        var body = forgeKind == "gitlab"
            ? new System.Text.Json.Nodes.JsonObject
            {
                ["object_kind"] = "push", ["ref"] = "refs/heads/main", ["before"] = before, ["after"] = head, ["checkout_sha"] = head,
                ["user_name"] = "Ada", ["total_commits_count"] = 1, ["project"] = new System.Text.Json.Nodes.JsonObject { ["path_with_namespace"] = name },
                ["commits"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                {
                    ["id"] = head, ["message"] = "test\n", ["added"] = new System.Text.Json.Nodes.JsonArray(".runner.yml"),
                    ["modified"] = new System.Text.Json.Nodes.JsonArray(), ["removed"] = new System.Text.Json.Nodes.JsonArray(),
                }),
            }.ToJsonString()
            : Hooks.GitHubPush(name, "main", before, head, "test", ".runner.yml").ToJsonString();
        var request = new HttpRequestMessage(HttpMethod.Post, $"{setup.Server.Url}hooks/{forgeKind}")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        if (forgeKind == "gitlab")
        {
            request.Headers.Add("X-Gitlab-Event", "Push Hook");
            request.Headers.Add("X-Gitlab-Token", Secret);
            request.Headers.Add("X-Gitlab-Event-UUID", Guid.NewGuid().ToString());
        }
        else
        {
            request.Headers.Add("X-Gitea-Event", "push");
            request.Headers.Add("X-Gitea-Delivery", Guid.NewGuid().ToString());
            request.Headers.Add("X-Gitea-Signature", Ci.Runner.Server.Hooks.HookSignatures.HexSignature(System.Text.Encoding.UTF8.GetBytes(body), Secret));
        }

        var id = (await SendAsync(setup.Server, request, HttpStatusCode.Created)).GetProperty("run").GetInt64();
        Assert.That((await WaitForRunAsync(setup.Server, id)).GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("passed"));
        Assert.That(await setup.Server.Http.GetStringAsync($"{setup.Server.Url}api/runs/{id}/logs"), Does.Contain("from-main"));
        await setup.Server.StopAsync();
        var path = forgeKind == "gitlab" ? $"/projects/group%2Fsub%2Fapp/statuses/{head}" : $"/repos/{name}/statuses/{head}";
        Assert.That(setup.Forge.Requests.Where(r => r.Answer == 201).Select(r => r.Path).Distinct(), Is.EqualTo(new[] { path }));
        Assert.That(forgeKind == "gitlab" ? setup.Forge.States("runner", key: "name") : setup.Forge.States("runner"),
            Is.EqualTo(forgeKind == "gitlab" ? new[] { "pending", "running", "success" } : ["pending", "pending", "success"]));
    }
}
