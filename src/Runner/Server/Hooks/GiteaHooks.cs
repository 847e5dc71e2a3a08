using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Hooks;

/// <summary>Gitea's and Forgejo's events: GitHub's shapes (their documentation says so), under their own header names.</summary>
internal static class GiteaHooks
{
    public static string Repository(Payload p) => GitHubHooks.Repository(p);

    public static HookEvent Parse(string eventName, string delivery, Payload p) => eventName switch
    {
        // Gitea's "test delivery" sends a push; it names pull request updates "synchronized".
        "pull_request_sync" => GitHubHooks.Parse(ForgeKind.Gitea, "pull_request", delivery, p),
        _ => GitHubHooks.Parse(ForgeKind.Gitea, eventName, delivery, p),
    };
}
