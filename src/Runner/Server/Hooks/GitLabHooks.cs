using Ci.Pipeline.Model;
using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Hooks;

/// <summary>
/// GitLab's <c>Push Hook</c>, <c>Tag Push Hook</c> and <c>Merge Request Hook</c>, as its "Webhook
/// events" page documents them. GitLab sends no ping: its "Test" button sends a push.
/// </summary>
internal static class GitLabHooks
{
    /// <summary>GitLab lists at most 20 commits of a push; total_commits_count says whether that is all.</summary>
    private const int MaxListedCommits = 20;

    public static string Repository(Payload p) => p.Need("project", "path_with_namespace");

    public static HookEvent Parse(string eventName, string delivery, Payload p)
    {
        var common = new HookEvent { Forge = ForgeKind.GitLab, DeliveryId = delivery, Repository = Repository(p), Action = HookAction.Ignore };
        return eventName switch
        {
            "Push Hook" => Push(common, p),
            "Tag Push Hook" => Tag(common, p),
            "Merge Request Hook" => MergeRequest(common, p),
            _ => throw new HookRejectedException(400, "unknown_event",
                $"the server runs for Push, Tag Push and Merge Request events, not '{eventName}': untick it in the webhook's triggers"),
        };
    }

    private static HookEvent Push(HookEvent common, Payload p)
    {
        var reference = p.Need("ref");
        var after = p.Need("after");
        if (after == Payload.NoCommit || p.Element("checkout_sha") is { ValueKind: System.Text.Json.JsonValueKind.Null })
        {
            return common with { Note = $"{reference} was deleted: nothing to run" };
        }

        if (!reference.StartsWith("refs/heads/", StringComparison.Ordinal))
        {
            return common with { Note = $"{reference} is not a branch: nothing to run" };
        }

        var before = p.Find("before");
        var isNew = before is null or Payload.NoCommit;
        var listed = p.Element("commits") is { ValueKind: System.Text.Json.JsonValueKind.Array } commits ? commits.GetArrayLength() : -1;
        var total = p.Number("total_commits_count");
        var complete = !isNew && listed >= 0 && listed < MaxListedCommits && (total is null || total == listed);
        var head = Head(p, after);
        return common with
        {
            Action = HookAction.Run,
            Branch = reference["refs/heads/".Length..],
            Commit = after,
            Before = isNew ? null : before,
            ChangedFiles = p.ChangedFiles(complete),
            Title = Payload.FirstLine(head?.GetProperty("message").GetString() ?? p.Find("message")),
            Author = p.Find("user_name") ?? "",
        };
    }

    private static HookEvent Tag(HookEvent common, Payload p)
    {
        var reference = p.Need("ref");
        var after = p.Need("after");
        if (after == Payload.NoCommit)
        {
            return common with { Note = $"{reference} was deleted: nothing to run" };
        }

        // checkout_sha is the commit an annotated tag points at; after may be the tag object's id.
        return common with
        {
            Action = HookAction.Run,
            Event = TriggerEvent.Tag,
            Tag = reference.StartsWith("refs/tags/", StringComparison.Ordinal) ? reference["refs/tags/".Length..] : reference,
            Commit = p.Find("checkout_sha") ?? after,
            Title = Payload.FirstLine(p.Find("message")),
            Author = p.Find("user_name") ?? "",
        };
    }

    private static HookEvent MergeRequest(HookEvent common, Payload p)
    {
        var action = p.Find("object_attributes", "action") ?? "";
        var mr = common with
        {
            Event = TriggerEvent.PullRequest,
            PullRequest = p.NeedNumber("object_attributes", "iid"),
            Branch = p.Need("object_attributes", "target_branch"),
            SourceBranch = p.Need("object_attributes", "source_branch"),
            Commit = p.Need("object_attributes", "last_commit", "id"),
            FromFork = p.Number("object_attributes", "source_project_id") != p.Number("object_attributes", "target_project_id"),
            Title = Payload.FirstLine(p.Find("object_attributes", "title")),
            Author = p.Find("user", "username") ?? "",
        };
        return action switch
        {
            "open" or "reopen" => mr with { Action = HookAction.Run },
            // An update without oldrev changed the title, labels or reviewers, not the commits.
            "update" when p.Find("object_attributes", "oldrev") is not null => mr with { Action = HookAction.Run },
            "close" or "merge" => mr with { Action = HookAction.CancelPullRequest },
            _ => mr with { Note = $"merge request action '{action}' without new commits runs nothing (open, reopen and update with commits run; close and merge cancel)" },
        };
    }

    private static System.Text.Json.JsonElement? Head(Payload p, string after)
    {
        if (p.Element("commits") is { ValueKind: System.Text.Json.JsonValueKind.Array } commits)
        {
            foreach (var c in commits.EnumerateArray())
            {
                if (c.ValueKind == System.Text.Json.JsonValueKind.Object && c.TryGetProperty("id", out var id) && id.GetString() == after
                    && c.TryGetProperty("message", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String)
                {
                    return c;
                }
            }
        }

        return null;
    }
}
