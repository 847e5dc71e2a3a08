namespace Ci.Pipeline.Model;

public enum TriggerEvent
{
    Push,
    PullRequest,
    Tag,
    Manual,
}

public static class TriggerEvents
{
    /// <summary>The event as the language writes it (<c>on:</c>, <c>when.event</c>, <c>CI_EVENT</c>, <c>--event</c>): push, pull_request, tag, manual.</summary>
    public static string Name(this TriggerEvent e) => e switch
    {
        TriggerEvent.Push => "push",
        TriggerEvent.PullRequest => "pull_request",
        TriggerEvent.Tag => "tag",
        _ => "manual",
    };
}

public enum NetworkMode
{
    /// <summary>The host's network stack: no isolation, an explicit opt-in that the plan shows.</summary>
    Host,

    /// <summary>A private network namespace with loopback only.</summary>
    None,

    /// <summary>The default: a private namespace with its own address and egress through NAT; the host and link-local addresses are out of reach.</summary>
    Bridge,
}

public enum CachePolicy
{
    PullPush,
    Pull,
    Push,
}

public enum ArtifactsWhen
{
    OnSuccess,
    OnFailure,
    Always,
}
