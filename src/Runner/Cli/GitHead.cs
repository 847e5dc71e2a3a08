using LibGit2Sharp;

namespace Ci.Runner.Cli;

/// <summary>The branch and commit a directory's git repository stands on, for the defaults of plan and validate.</summary>
internal sealed record GitHead(string Branch, string Commit)
{
    public static GitHead? TryRead(string root)
    {
        if (Repository.Discover(root) is not { } gitDir)
        {
            return null;
        }

        using var repo = new Repository(gitDir);
        var head = repo.Head;
        var branch = repo.Info.IsHeadDetached ? "" : head.FriendlyName;
        return new GitHead(branch, head.Tip?.Sha ?? "");
    }
}
