using LibGit2Sharp;

namespace Ci.Runner.Sources;

/// <summary>The files a push or a pull request changes, read from the mirror when the hook does not list them all.</summary>
internal static class CommitChanges
{
    /// <summary>
    /// Paths that differ between <paramref name="since"/> and <paramref name="commit"/> (a rename
    /// counts as both paths). <paramref name="since"/> is a commit id (the branch's commit before a
    /// push) or a branch (a pull request's target: the diff starts at their merge base, as the
    /// forges show a pull request's changes). Null when the mirror does not have it (a force push
    /// that dropped it): the changes are then unknown, and every paths filter matches.
    /// </summary>
    public static IReadOnlyList<string>? Between(Repository repo, Commit commit, string since)
    {
        var start = since.Length == 40 && since.All(char.IsAsciiHexDigitLower) ? repo.Lookup<Commit>(since)
            : repo.Refs[$"refs/heads/{since}"]?.ResolveToDirectReference()?.Target.Peel<Commit>() is { } target ? repo.ObjectDatabase.FindMergeBase(target, commit)
            : null;
        if (start is null)
        {
            return null;
        }

        var changes = repo.Diff.Compare<TreeChanges>(start.Tree, commit.Tree);
        return [.. changes.SelectMany(c => c.OldPath == c.Path ? new[] { c.Path } : [c.OldPath, c.Path]).Distinct().Order(StringComparer.Ordinal)];
    }
}
