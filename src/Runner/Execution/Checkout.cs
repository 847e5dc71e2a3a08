using LibGit2Sharp;

namespace Ci.Runner.Execution;

/// <summary>
/// The sources a run sees: the committed tree of a git repository, written once per tree id into
/// a directory laid out as a layer (<c>workspace/…</c>) that every step stacks read-only. An
/// unchanged tree is not written again.
/// </summary>
public static class Checkout
{
    public const string WorkspaceDirectory = "workspace";

    /// <summary>
    /// Returns the layer directory for the committed tree at <paramref name="projectPath"/> (a
    /// repository's root, or a directory inside one, whose committed subtree becomes the
    /// workspace), the commit and the branch.
    /// </summary>
    public static (string Layer, string Commit, string Branch, string TreeId) Prepare(string projectPath, string stateDirectory)
    {
        var gitDir = Repository.Discover(projectPath) ?? throw new InvalidOperationException($"{projectPath} is not in a git repository; runner exec runs what is committed");
        using var repo = new Repository(gitDir);
        var commit = repo.Head.Tip ?? throw new InvalidOperationException($"{projectPath}: the repository has no commit yet");
        var relative = Path.GetRelativePath(repo.Info.WorkingDirectory, Path.GetFullPath(projectPath)).Replace('\\', '/');
        var tree = relative is "." ? commit.Tree
            : commit[relative]?.Target as Tree ?? throw new InvalidOperationException($"{relative} is not committed in {repo.Info.WorkingDirectory}");
        var root = Path.Combine(stateDirectory, "checkouts", tree.Sha[..16]);
        if (!Directory.Exists(root))
        {
            var temp = root + ".tmp-" + Random.Shared.NextInt64(1L << 40).ToString("x10");
            Write(repo, tree, Path.Combine(temp, WorkspaceDirectory));
            try
            {
                Directory.Move(temp, root);
            }
            catch (IOException) when (Directory.Exists(root))
            {
                Directory.Delete(temp, recursive: true);
            }
        }

        return (root, commit.Sha, repo.Info.IsHeadDetached ? "" : repo.Head.FriendlyName, tree.Sha);
    }

    private static void Write(Repository repo, Tree tree, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var entry in tree)
        {
            var path = Path.Combine(directory, entry.Name);
            switch (entry.TargetType)
            {
                case TreeEntryTargetType.Tree:
                    Write(repo, (Tree)entry.Target, path);
                    break;
                case TreeEntryTargetType.Blob when entry.Mode == Mode.SymbolicLink:
                    File.CreateSymbolicLink(path, ((Blob)entry.Target).GetContentText());
                    break;
                case TreeEntryTargetType.Blob:
                    using (var content = ((Blob)entry.Target).GetContentStream())
                    using (var file = File.Create(path))
                    {
                        content.CopyTo(file);
                    }

                    File.SetUnixFileMode(path, entry.Mode == Mode.ExecutableFile ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100);
                    break;
            }
        }
    }
}
