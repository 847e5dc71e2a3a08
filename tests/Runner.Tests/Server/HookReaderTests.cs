using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Ci.Pipeline.Model;
using Ci.Runner.Server.Config;
using Ci.Runner.Server.Hooks;

namespace Ci.Runner.Tests.Server;

/// <summary>Hooks as each forge documents and signs them, read into the engine's trigger; refusals with their status and reason.</summary>
public sealed class HookReaderTests
{
    private const string Secret = "s3cret-hook";
    private static readonly string Head = new('a', 40), Before = new('b', 40);

    private static RepositoryConfig Repo(ForgeKind forge, string name = "acme/app", string? secret = Secret) => new()
    {
        Name = name, Forge = forge, CloneUrl = "https://example.org/acme/app.git", WebhookSecret = secret is null ? null : new ConfigSecret(secret, "test"),
    };

    private static (HookEvent, RepositoryConfig) Read(ForgeKind forge, Dictionary<string, string> headers, string body, RepositoryConfig? repo = null,
        string contentType = "application/json", DateTimeOffset? now = null) =>
        new HookReader([repo ?? Repo(forge)], new FixedTime(now ?? DateTimeOffset.UtcNow))
            .Read(forge, h => headers.TryGetValue(h, out var v) ? v : null, contentType, Encoding.UTF8.GetBytes(body));

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static string Hmac(string body, string secret = Secret) => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    private static Dictionary<string, string> GitHub(string eventName, string body) => new()
    {
        ["X-GitHub-Event"] = eventName, ["X-GitHub-Delivery"] = "d-1", ["X-Hub-Signature-256"] = "sha256=" + Hmac(body),
    };

    [Test]
    public void A_GitHub_push_to_a_branch_is_a_push_run_with_the_files_its_commits_list()
    {
        var body = Hooks.GitHubPush("acme/app", "main", Before, Head, "Fix the build\n\nLonger text", "src/a.c", "docs/x.md").ToJsonString();
        var (hook, _) = Read(ForgeKind.GitHub, GitHub("push", body), body);
        Assert.That((hook.Action, hook.Event, hook.Branch, hook.Commit, hook.Before, hook.Title, hook.DeliveryId),
            Is.EqualTo((HookAction.Run, TriggerEvent.Push, "main", Head, Before, "Fix the build", "d-1")));
        Assert.That(hook.ChangedFiles, Is.EqualTo(new[] { "docs/x.md", "src/a.c" }));
    }

    [Test]
    public void A_new_branch_leaves_its_changed_files_to_the_mirror()
    {
        var body = Hooks.GitHubPush("acme/app", "feature", Hooks.NoCommit, Head, "new").ToJsonString();
        var (hook, _) = Read(ForgeKind.GitHub, GitHub("push", body), body);
        Assert.That((hook.Action, hook.Before, hook.ChangedFiles), Is.EqualTo((HookAction.Run, (string?)null, (IReadOnlyList<string>?)null)));
    }

    [Test]
    public void A_tag_push_is_a_tag_run_and_a_deleted_branch_is_answered_and_ignored()
    {
        var tag = Hooks.GitHubPush("acme/app", "x", Before, Head, "v1");
        tag["ref"] = "refs/tags/v1.2.0";
        var body = tag.ToJsonString();
        var (hook, _) = Read(ForgeKind.GitHub, GitHub("push", body), body);
        Assert.That((hook.Action, hook.Event, hook.Tag), Is.EqualTo((HookAction.Run, TriggerEvent.Tag, "v1.2.0")));

        body = Hooks.GitHubPush("acme/app", "old", Before, Hooks.NoCommit, "gone").ToJsonString();
        (hook, _) = Read(ForgeKind.GitHub, GitHub("push", body), body);
        Assert.That((hook.Action, hook.Note), Is.EqualTo((HookAction.Ignore, "refs/heads/old was deleted: nothing to run")));
    }

    [TestCase("opened", HookAction.Run)]
    [TestCase("synchronize", HookAction.Run)]
    [TestCase("reopened", HookAction.Run)]
    [TestCase("closed", HookAction.CancelPullRequest)]
    [TestCase("labeled", HookAction.Ignore)]
    public void Pull_request_actions_run_cancel_or_are_ignored(string action, HookAction expected)
    {
        var body = Hooks.GitHubPullRequest("acme/app", action, 7, Head, "acme/app", "main", "feature").ToJsonString();
        var (hook, _) = Read(ForgeKind.GitHub, GitHub("pull_request", body), body);
        Assert.That((hook.Action, hook.Event, hook.PullRequest, hook.Branch, hook.SourceBranch, hook.FromFork, hook.ConcurrencyGroup),
            Is.EqualTo((expected, TriggerEvent.PullRequest, (int?)7, "main", "feature", false, "pr/7")));
    }

    [Test]
    public void A_pull_request_from_a_fork_is_marked_so_that_it_runs_without_secrets()
    {
        var body = Hooks.GitHubPullRequest("acme/app", "opened", 8, Head, "mallory/app", "main", "evil").ToJsonString();
        Assert.That(Read(ForgeKind.GitHub, GitHub("pull_request", body), body).Item1.FromFork, Is.True);
    }

    [Test]
    public void A_ping_is_answered_and_an_event_the_server_does_not_run_for_is_a_400_that_says_so()
    {
        var body = new JsonObject { ["zen"] = "Keep it simple.", ["hook_id"] = 1, ["repository"] = new JsonObject { ["full_name"] = "acme/app" } }.ToJsonString();
        Assert.That(Read(ForgeKind.GitHub, GitHub("ping", body), body).Item1.Action, Is.EqualTo(HookAction.Ignore));
        var ex = Assert.Throws<HookRejectedException>(() => Read(ForgeKind.GitHub, GitHub("issues", body), body));
        Assert.That((ex!.Status, ex.Reason, ex.Message), Is.EqualTo((400, "unknown_event",
            "the server runs for push and pull_request events, not 'issues': untick it in the webhook's events")));
    }

    [Test]
    public void Refusals_say_why_with_a_4xx()
    {
        var body = Hooks.GitHubPush("acme/app", "main", Before, Head, "x").ToJsonString();
        var wrong = GitHub("push", body);
        wrong["X-Hub-Signature-256"] = "sha256=" + Hmac(body, "other");
        Assert.That(Reject(() => Read(ForgeKind.GitHub, wrong, body)), Is.EqualTo((401, "bad_signature")));
        Assert.That(Reject(() => Read(ForgeKind.GitHub, GitHub("push", body), body, Repo(ForgeKind.GitHub, secret: null))), Is.EqualTo((401, "no_secret")));
        Assert.That(Reject(() => Read(ForgeKind.GitHub, GitHub("push", body), body, Repo(ForgeKind.GitHub, "acme/other"))), Is.EqualTo((404, "unknown_repository")));
        Assert.That(Reject(() => Read(ForgeKind.GitHub, GitHub("push", "{not json"), "{not json")), Is.EqualTo((400, "malformed")));
        Assert.That(Reject(() => Read(ForgeKind.GitHub, GitHub("push", body), body, contentType: "text/plain")), Is.EqualTo((415, "content_type")));
        Assert.That(Reject(() => Read(ForgeKind.GitHub, new() { ["X-Hub-Signature-256"] = "sha256=" + Hmac(body) }, body)), Is.EqualTo((400, "no_event")));
        var noCommit = Hooks.GitHubPush("acme/app", "main", Before, "main", "x").ToJsonString();
        Assert.That(Reject(() => Read(ForgeKind.GitHub, GitHub("push", noCommit), noCommit)), Is.EqualTo((400, "malformed")));
    }

    private static (int, string) Reject(TestDelegate read)
    {
        var ex = Assert.Throws<HookRejectedException>(read);
        return (ex!.Status, ex.Reason);
    }

    [Test]
    public void A_GitHub_hook_sent_form_encoded_is_read_from_its_payload_field()
    {
        var json = Hooks.GitHubPush("acme/app", "main", Before, Head, "x").ToJsonString();
        var body = "payload=" + Uri.EscapeDataString(json);
        var headers = new Dictionary<string, string> { ["X-GitHub-Event"] = "push", ["X-Hub-Signature-256"] = "sha256=" + Hmac(body) };
        Assert.That(Read(ForgeKind.GitHub, headers, body, contentType: "application/x-www-form-urlencoded").Item1.Commit, Is.EqualTo(Head));
    }

    private static JsonObject GitLabPush(string before, string after, int listed, int total) => new()
    {
        ["object_kind"] = "push", ["ref"] = "refs/heads/main", ["before"] = before, ["after"] = after, ["checkout_sha"] = after,
        ["user_name"] = "Ada", ["total_commits_count"] = total,
        ["project"] = new JsonObject { ["path_with_namespace"] = "group/sub/app", ["default_branch"] = "main" },
        ["commits"] = new JsonArray([.. Enumerable.Range(0, listed).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = i == listed - 1 ? after : new string('c', 40), ["message"] = $"commit {i}\n", ["added"] = new JsonArray($"f{i}.txt"),
            ["modified"] = new JsonArray(), ["removed"] = new JsonArray(),
        })]),
    };

    [Test]
    public void A_GitLab_push_is_checked_by_its_token_and_lists_its_files_only_when_the_hook_has_every_commit()
    {
        var repo = Repo(ForgeKind.GitLab, "group/sub/app");
        var body = GitLabPush(Before, Head, 2, 2).ToJsonString();
        var headers = new Dictionary<string, string> { ["X-Gitlab-Event"] = "Push Hook", ["X-Gitlab-Token"] = Secret, ["X-Gitlab-Event-UUID"] = "u-1" };
        var (hook, _) = Read(ForgeKind.GitLab, headers, body, repo);
        Assert.That((hook.Action, hook.Branch, hook.Commit, hook.Title, hook.DeliveryId), Is.EqualTo((HookAction.Run, "main", Head, "commit 1", "u-1")));
        Assert.That(hook.ChangedFiles, Is.EqualTo(new[] { "f0.txt", "f1.txt" }));

        body = GitLabPush(Before, Head, 20, 45).ToJsonString(); // GitLab lists 20 of 45 commits
        Assert.That(Read(ForgeKind.GitLab, headers, body, repo).Item1.ChangedFiles, Is.Null);

        headers["X-Gitlab-Token"] = "wrong";
        Assert.That(Reject(() => Read(ForgeKind.GitLab, headers, body, repo)), Is.EqualTo((401, "bad_signature")));
    }

    [Test]
    public void A_GitLab_hook_signed_with_a_signing_key_is_checked_by_signature_and_timestamp()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var repo = Repo(ForgeKind.GitLab, "group/sub/app", "whsec_" + Convert.ToBase64String(key));
        var body = GitLabPush(Before, Head, 1, 1).ToJsonString();
        var now = DateTimeOffset.UtcNow;
        Dictionary<string, string> Signed(DateTimeOffset at, byte[] with)
        {
            var stamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var signature = Convert.ToBase64String(HMACSHA256.HashData(with, Encoding.UTF8.GetBytes($"msg-1.{stamp}.{body}")));
            return new() { ["X-Gitlab-Event"] = "Push Hook", ["webhook-id"] = "msg-1", ["webhook-timestamp"] = stamp, ["webhook-signature"] = $"v1,{signature}" };
        }

        Assert.That(Read(ForgeKind.GitLab, Signed(now, key), body, repo, now: now).Item1.Action, Is.EqualTo(HookAction.Run));
        Assert.That(Reject(() => Read(ForgeKind.GitLab, Signed(now - TimeSpan.FromMinutes(10), key), body, repo, now: now)), Is.EqualTo((401, "bad_signature")));
        Assert.That(Reject(() => Read(ForgeKind.GitLab, Signed(now, RandomNumberGenerator.GetBytes(32)), body, repo, now: now)), Is.EqualTo((401, "bad_signature")));
    }

    [Test]
    public void A_GitLab_merge_request_update_without_new_commits_runs_nothing()
    {
        var repo = Repo(ForgeKind.GitLab, "group/sub/app");
        JsonObject Mr(string action, string? oldrev) => new()
        {
            ["object_kind"] = "merge_request",
            ["project"] = new JsonObject { ["path_with_namespace"] = "group/sub/app" },
            ["object_attributes"] = new JsonObject
            {
                ["iid"] = 12, ["action"] = action, ["target_branch"] = "main", ["source_branch"] = "topic", ["source_project_id"] = 5,
                ["target_project_id"] = 5, ["title"] = "Topic", ["last_commit"] = new JsonObject { ["id"] = Head }, ["oldrev"] = oldrev,
            },
        };
        var headers = new Dictionary<string, string> { ["X-Gitlab-Event"] = "Merge Request Hook", ["X-Gitlab-Token"] = Secret };
        Assert.That(Read(ForgeKind.GitLab, headers, Mr("update", Before).ToJsonString(), repo).Item1.Action, Is.EqualTo(HookAction.Run));
        Assert.That(Read(ForgeKind.GitLab, headers, Mr("update", null).ToJsonString(), repo).Item1.Action, Is.EqualTo(HookAction.Ignore));
        Assert.That(Read(ForgeKind.GitLab, headers, Mr("merge", null).ToJsonString(), repo).Item1.Action, Is.EqualTo(HookAction.CancelPullRequest));
    }

    [TestCase("X-Gitea-Event", "X-Gitea-Signature")]
    [TestCase("X-Forgejo-Event", "X-Forgejo-Signature")]
    public void A_Gitea_or_Forgejo_push_is_checked_by_its_HMAC_header(string eventHeader, string signatureHeader)
    {
        var repo = Repo(ForgeKind.Gitea);
        var push = Hooks.GitHubPush("acme/app", "main", Before, Head, "x", "a.txt");
        push["total_commits"] = 1;
        var body = push.ToJsonString();
        var (hook, _) = Read(ForgeKind.Gitea, new() { [eventHeader] = "push", [signatureHeader] = Hmac(body) }, body, repo);
        Assert.That((hook.Action, hook.ChangedFiles), Is.EqualTo((HookAction.Run, (IReadOnlyList<string>?)new[] { "a.txt" })));
        Assert.That(Reject(() => Read(ForgeKind.Gitea, new() { [eventHeader] = "push", [signatureHeader] = Hmac(body, "x") }, body, repo)), Is.EqualTo((401, "bad_signature")));
    }
}
