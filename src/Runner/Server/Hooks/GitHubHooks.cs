using Ci.Pipeline.Model;
using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Hooks;

/// <summary>
/// GitHub's <c>push</c>, <c>pull_request</c> and <c>ping</c> events, as documented in "Webhook
/// events and payloads". Gitea and Forgejo send the same shapes (their <c>synchronized</c> is
/// GitHub's <c>synchronize</c>), so <see cref="GiteaHooks"/> reads through this.
/// </summary>
internal static class GitHubHooks
{
    /// <summary>
    /// GitHub lists at most 2,048 commits of a push; Gitea as few as its feed setting (5 by
    /// default) unless its total_commits says the list is whole. A push that may be longer asks the mirror.
    /// </summary>
    private static int MaxListedCommits(ForgeKind forge) => forge == ForgeKind.GitHub ? 2048 : 5;

    public static string Repository(Payload p) => p.Need("repository", "full_name");

    public static HookEvent Parse(ForgeKind forge, string eventName, string delivery, Payload p)
    {
        var common = new HookEvent { Forge = forge, DeliveryId = delivery, Repository = Repository(p), Action = HookAction.Ignore };
        return eventName switch
        {
            "ping" => common with { Note = "pong: the hook reaches the server and its signature is right" },
            "push" => Push(common, p, MaxListedCommits(forge)),
            "pull_request" => PullRequest(common, p),
            "create" or "delete" => common with { Note = $"{eventName} events are not run (a push event covers new branches and tags; deletions run nothing)" },
            _ => throw new HookRejectedException(400, "unknown_event", $"the server runs for push and pull_request events, not '{eventName}': untick it in the webhook's events"),
        };
    }

    private static HookEvent Push(HookEvent common, Payload p, int maxListed)
    {
        var reference = p.Need("ref");
        var after = p.Need("after");
        if (p.Flag("deleted") || after == Payload.NoCommit)
        {
            return common with { Note = $"{reference} was deleted: nothing to run" };
        }

        var message = Payload.FirstLine(p.Find("head_commit", "message"));
        var author = p.Find("head_commit", "author", "name") ?? p.Find("pusher", "name") ?? "";
        if (reference.StartsWith("refs/tags/", StringComparison.Ordinal))
        {
            return common with
            {
                Action = HookAction.Run, Event = TriggerEvent.Tag, Tag = reference["refs/tags/".Length..], Commit = after, Title = message, Author = author,
            };
        }

        if (!reference.StartsWith("refs/heads/", StringComparison.Ordinal))
        {
            return common with { Note = $"{reference} is neither a branch nor a tag: nothing to run" };
        }

        var before = p.Find("before");
        var isNew = p.Flag("created") || before is null or Payload.NoCommit;
        var listed = p.Element("commits") is { ValueKind: System.Text.Json.JsonValueKind.Array } commits ? commits.GetArrayLength() : -1;
        // A new branch lists only its new commits against nothing: its changes are the mirror's to tell.
        var complete = !isNew && listed >= 0 && (p.Number("total_commits") is { } total ? listed == total : listed < maxListed);
        return common with
        {
            Action = HookAction.Run,
            Event = TriggerEvent.Push,
            Branch = reference["refs/heads/".Length..],
            Commit = after,
            Before = isNew ? null : before,
            ChangedFiles = p.ChangedFiles(complete),
            Title = message,
            Author = author,
        };
    }

    private static HookEvent PullRequest(HookEvent common, Payload p)
    {
        var action = p.Need("action");
        var number = p.NeedNumber("number");
        var head = p.Need("pull_request", "head", "repo", "full_name");
        var pr = common with
        {
            Event = TriggerEvent.PullRequest,
            PullRequest = number,
            Branch = p.Need("pull_request", "base", "ref"),
            SourceBranch = p.Need("pull_request", "head", "ref"),
            Commit = p.Need("pull_request", "head", "sha"),
            FromFork = !string.Equals(head, common.Repository, StringComparison.OrdinalIgnoreCase),
            Title = Payload.FirstLine(p.Find("pull_request", "title")),
            Author = p.Find("pull_request", "user", "login") ?? "",
        };
        return action switch
        {
            "opened" or "reopened" or "synchronize" or "synchronized" => pr with { Action = HookAction.Run },
            "closed" => pr with { Action = HookAction.CancelPullRequest },
            _ => pr with { Note = $"pull request action '{action}' runs nothing (opened, synchronize, reopened run; closed cancels)" },
        };
    }
}
