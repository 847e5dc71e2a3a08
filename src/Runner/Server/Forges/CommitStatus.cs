using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Forges;

/// <summary>A commit's state as the server reports it; each forge's client maps it onto its own words.</summary>
public enum CommitState
{
    Pending,
    Running,
    Success,
    Failure,
    Error,
    Cancelled,
}

/// <summary>One status to post: on <paramref name="Commit"/> of <paramref name="Repository"/>, under <paramref name="Context"/> ("runner", "runner/test").</summary>
public sealed record CommitStatus(RepositoryConfig Repository, string Commit, string Context, CommitState State, string Description, Uri Target)
{
    /// <summary>Statuses of one key replace each other: a newer one makes an older one not yet posted moot.</summary>
    public string Key => $"{Repository.Forge}/{Repository.Name}/{Commit}/{Context}";
}

/// <summary>Where the server's commit statuses go. <see cref="Post"/> never blocks and never throws: a forge that is down delays nothing.</summary>
public interface ICommitStatuses
{
    void Post(CommitStatus status);
}
