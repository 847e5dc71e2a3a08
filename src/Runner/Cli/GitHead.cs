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
            if (Sources.GitDiscovery.Find(root) is { } gitDir)
            {
                using var repo = new Repository(gitDir);
                var head = repo.Head;
                return new GitHead(repo.Info.IsHeadDetached ? "" : head.FriendlyName, head.Tip?.Sha ?? "");
            }
        }
        catch (Exception ex) when (ex is LibGit2SharpException or InvalidOperationException or TypeInitializationException or DllNotFoundException or MarshalDirectiveException)
        {
            Log.Warning("Cannot read the git repository at {Root}: {Message}; pass --branch and --commit", root, ex.Message);
            return null;
        }

        return null;
    }
}
