using System.Runtime.InteropServices;
using LibGit2Sharp;
using Serilog;

namespace Ci.Runner.Cli;

/// <summary>The branch and commit a directory's git repository stands on, for the defaults of plan and validate.</summary>
internal sealed record GitHead(string Branch, string Commit)
{
    public static GitHead? TryRead(string root)
    {
        try
        {
            if (Repository.Discover(root) is { } gitDir)
            {
                using var repo = new Repository(gitDir);
                var head = repo.Head;
                return new GitHead(repo.Info.IsHeadDetached ? "" : head.FriendlyName, head.Tip?.Sha ?? "");
            }
        }
        catch (Exception ex) when (ex is LibGit2SharpException or TypeInitializationException or DllNotFoundException or MarshalDirectiveException)
        {
            Log.Warning("Cannot read the git repository at {Root}: {Message}; pass --branch and --commit", root, ex.Message);
            return null;
        }

        // LibGit2Sharp's path marshalling (ICustomMarshaler) does not work in a NativeAOT build: Discover then finds nothing.
        if (Execution.Checkout.HasGitDirectory(root))
        {
            Log.Warning("This NativeAOT build of the runner cannot read git repositories (LibGit2Sharp); pass --branch and --commit");
        }

        return null;
    }
}
