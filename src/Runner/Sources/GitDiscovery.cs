using LibGit2Sharp;

namespace Ci.Runner.Sources;

/// <summary>
/// Finds the git repository a directory belongs to, as git does: the nearest directory, going up,
/// that has a .git (a directory, or a gitlink file as in worktrees and submodules) or that is itself a
/// bare repository. LibGit2Sharp's own Repository.Discover returns its answer through a git_buf that
/// NativeAOT's marshalling does not copy back, so in the published binary it finds nothing; opening a
/// repository by its path works in both builds.
/// </summary>
internal static class GitDiscovery
{
    /// <summary>The path to open with <c>new Repository(path)</c>, or null when no directory up from <paramref name="path"/> is a repository.</summary>
    /// <exception cref="InvalidOperationException">The nearest .git cannot be read as a repository.</exception>
    public static string? Find(string path)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(path)); dir is not null; dir = dir.Parent)
        {
            if (Path.Exists(Path.Combine(dir.FullName, ".git")) || IsBare(dir.FullName))
            {
                return Repository.IsValid(dir.FullName) ? dir.FullName
                    : throw new InvalidOperationException($"{dir.FullName} has a .git that cannot be read as a repository (damaged, or a gitlink to a directory that is gone); 'git -C {dir.FullName} status' says more");
            }
        }

        return null;
    }

    private static bool IsBare(string dir) =>
        File.Exists(Path.Combine(dir, "HEAD")) && Directory.Exists(Path.Combine(dir, "objects")) && Directory.Exists(Path.Combine(dir, "refs"));
}
