using Ci.Pipeline.Sources;

namespace Ci.Runner.Engine;

/// <summary>
/// Where a run's sources come from: a local repository (its committed tree, a named commit, or
/// the working tree as it is) or a remote one (<see cref="Url"/> at <see cref="Ref"/>).
/// </summary>
public sealed record SourceRequest
{
    /// <summary>The project directory: a repository's root or a directory inside one (local runs).</summary>
    public string? LocalPath { get; init; }

    public string? Url { get; init; }

    /// <summary>With <see cref="Url"/>: the branch, tag or commit (default: the remote's default branch).</summary>
    public string? Ref { get; init; }

    /// <summary>Local: the commit to run instead of HEAD.</summary>
    public string? Commit { get; init; }

    /// <summary>Local: the working tree as it is (uncommitted changes, untracked files that are not ignored).</summary>
    public bool Worktree { get; init; }

    public bool Submodules { get; init; }

    /// <summary>
    /// With <see cref="Url"/>: list the files the commit changes against this commit (a push's
    /// previous head) or branch (a pull request's target, from their merge base), for a trigger
    /// that does not list them itself.
    /// </summary>
    public string? ChangesSince { get; init; }

    /// <summary>With <see cref="Url"/>: a new mirror keeps the last N commits of each branch (0: all).</summary>
    public int Depth { get; init; }
}

/// <summary>
/// A run's sources, ready: the workspace the backend stacks, the tree the pipeline is compiled
/// from (the same files), the branch they stand on and the repository's default branch (for
/// cache scopes), and a note for the user when uncommitted changes were left out.
/// </summary>
public sealed record PreparedSource(Workspace Workspace, ISourceTree Tree, string Branch, string DefaultBranch, string? LeftOut) : IDisposable
{
    /// <summary>What <see cref="SourceRequest.ChangesSince"/> asked for; null when not asked or not known.</summary>
    public IReadOnlyList<string>? ChangedFiles { get; init; }

    public void Dispose() => (Tree as IDisposable)?.Dispose();
}

/// <summary>Prepares sources (git checkouts, mirrors): the engine's way to what it runs, whatever the host.</summary>
public interface IRunSources
{
    /// <summary>Throws <see cref="SourceException"/> for a source that cannot be had (not a repository, no such ref), with the reason in the user's words.</summary>
    Task<PreparedSource> PrepareAsync(SourceRequest request, CancellationToken cancellationToken);
}

/// <summary>A source that cannot be had: bad input, said in the user's words.</summary>
public sealed class SourceException(string message, Exception? inner = null) : Exception(message, inner);
