using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Ci.Runner.Tests.Server;

/// <summary>Webhooks shaped as the forges document them, signed as they sign them: what the tests send to the server.</summary>
internal static class Hooks
{
    public const string NoCommit = "0000000000000000000000000000000000000000";

    /// <summary>GitHub's push event (the fields its "push" payload documents that the server reads, and a few it does not).</summary>
    public static JsonObject GitHubPush(string repository, string branch, string before, string after, string message, params string[] modified) => new()
    {
        ["ref"] = $"refs/heads/{branch}",
        ["before"] = before,
        ["after"] = after,
        ["created"] = before == NoCommit,
        ["deleted"] = after == NoCommit,
        ["forced"] = false,
        ["compare"] = $"https://github.com/{repository}/compare/{before}...{after}",
        ["commits"] = new JsonArray(new JsonObject
        {
            ["id"] = after, ["message"] = message, ["author"] = new JsonObject { ["name"] = "Ada", ["email"] = "ada@example.org" },
            ["added"] = new JsonArray(), ["removed"] = new JsonArray(), ["modified"] = new JsonArray([.. modified.Select(m => (JsonNode)m)]),
        }),
        ["head_commit"] = new JsonObject { ["id"] = after, ["message"] = message, ["author"] = new JsonObject { ["name"] = "Ada" } },
        ["repository"] = new JsonObject { ["full_name"] = repository, ["name"] = repository.Split('/')[1], ["default_branch"] = "main" },
        ["pusher"] = new JsonObject { ["name"] = "ada" },
    };

    public static JsonObject GitHubPullRequest(string repository, string action, int number, string head, string headRepository, string baseBranch, string headBranch) => new()
    {
        ["action"] = action,
        ["number"] = number,
        ["pull_request"] = new JsonObject
        {
            ["number"] = number, ["title"] = "A change", ["state"] = action == "closed" ? "closed" : "open",
            ["user"] = new JsonObject { ["login"] = "ada" },
            ["head"] = new JsonObject { ["sha"] = head, ["ref"] = headBranch, ["repo"] = new JsonObject { ["full_name"] = headRepository } },
            ["base"] = new JsonObject { ["ref"] = baseBranch, ["repo"] = new JsonObject { ["full_name"] = repository } },
        },
        ["repository"] = new JsonObject { ["full_name"] = repository },
    };

    /// <summary>A GitHub delivery: the event and delivery headers and X-Hub-Signature-256 over the exact bytes sent.</summary>
    public static HttpRequestMessage GitHub(string url, string eventName, JsonObject payload, string secret, string? delivery = null)
    {
        var body = Encoding.UTF8.GetBytes(payload.ToJsonString());
        var request = new HttpRequestMessage(HttpMethod.Post, url + "hooks/github") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-GitHub-Event", eventName);
        request.Headers.Add("X-GitHub-Delivery", delivery ?? Guid.NewGuid().ToString());
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        return request;
    }
}
