namespace Ci.Pipeline.Model;

public enum TriggerEvent
{
    Push,
    PullRequest,
    Tag,
    Manual,
}

public enum NetworkMode
{
    /// <summary>The host's network stack (the default until bridged egress exists).</summary>
    Host,

    /// <summary>A private network namespace with loopback only.</summary>
    None,

    /// <summary>A private namespace with egress through a bridge (executed by a later runner version).</summary>
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
