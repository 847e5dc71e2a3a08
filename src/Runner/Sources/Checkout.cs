using System.Security.Cryptography;
using Ci.Isolation.Files;
using Ci.Isolation.Images;
using LibGit2Sharp;
using Ci.Runner.Engine;

namespace Ci.Runner.Sources;

/// <summary>
/// The sources a run sees: the committed tree of a git repository, written once per tree id into
/// a directory laid out as a layer (<c>workspace/…</c>) that every step stacks read-only, and
/// with --worktree a layer of the working directory's changes above it. Neither is written again
/// when unchanged.
/// </summary>
public static class Checkout
{
    public const string WorkspaceDirectory = "workspace";

    /// <summary>
    /// The layers of the workspace, top first, for the project at <paramref name="projectPath"/> (a
    /// repository's root, or a directory inside one, whose subtree becomes the workspace), with
    /// the commit and the branch: the committed tree and, with <paramref name="worktree"/>,
    /// above it a layer of what the working directory changes (modified and untracked files that
    /// are not ignored; deleted ones as whiteouts). The key names the content: the tree id, and
    /// the changes' digest. Running HEAD's tree, <c>LeftOut</c> says which uncommitted changes it
    /// leaves out (<see cref="LeftOut(IReadOnlyList{string}, string, string, string)"/>, with <paramref name="verb"/>); null when none are.
    /// </summary>
    public static (IReadOnlyList<string> Layers, string Commit, string Branch, string Key, string DefaultBranch, string? LeftOut) Prepare(string projectPath,
        string stateDirectory, bool worktree, bool submodules = false, string? revision = null, string verb = "runner exec runs")
    {
        var gitDir = GitDiscovery.Find(projectPath)
            ?? throw new InvalidOperationException($"{projectPath} is not in a git repository; runner exec runs what is committed");
        using var repo = new Repository(gitDir);
        var relative = Relative(repo, projectPath);
        var branch = repo.Info.IsHeadDetached ? "" : repo.Head.FriendlyName;
        if (revision is null && repo.Head.Tip is null)
        {
            // Nothing committed yet: with --worktree the working directory is the whole workspace.
            if (!worktree)
            {
                throw new InvalidOperationException($"{projectPath}: the repository has no commit yet; commit, or run the working tree as it is with --worktree");
            }

            var only = WriteChanges(repo, relative, stateDirectory)
                ?? throw new InvalidOperationException($"{projectPath}: the repository has no commit and no files yet");
            return ([only.Layer], "", branch, Ci.Isolation.Images.CacheKey.Of("no-commit", only.Digest), DefaultBranch(repo), null);
        }

        var commit = revision is null
            ? repo.Head.Tip!
            : Lookup(repo, revision) ?? throw new InvalidOperationException($"--commit: there is no commit '{revision}' in {repo.Info.WorkingDirectory}");
        var tree = relative is "." ? commit.Tree
            : commit[relative]?.Target as Tree ?? throw new InvalidOperationException($"{relative} is not committed in {repo.Info.WorkingDirectory}");
        var opened = new List<Repository>();
        string root;
        try
        {
            root = Export(tree, stateDirectory, submodules ? LocalSubmodules(repo, relative, opened) : null);
        }
        finally
        {
            opened.ForEach(r => r.Dispose());
        }

        if (worktree && WriteChanges(repo, relative, stateDirectory) is { } changes)
        {
            return ([changes.Layer, root], commit.Sha, branch, Ci.Isolation.Images.CacheKey.Of(tree.Sha, changes.Digest), DefaultBranch(repo), null);
        }

        // One status walk, on the repository already open: only HEAD's tree has uncommitted changes to leave out.
        var leftOut = !worktree && revision is null ? LeftOut(Uncommitted(repo, relative), relative, verb, commit.Sha) : null;
        return ([root], commit.Sha, branch, tree.Sha, DefaultBranch(repo), leftOut);
    }

    /// <summary>A commit by id (full or abbreviated), branch or tag, as git rev-parse takes it; null when there is none.</summary>
    private static Commit? Lookup(Repository repo, string revision)
    {
        try
        {
            return repo.Lookup(revision)?.Peel<Commit>();
        }
        catch (LibGit2SharpException)
        {
            return null; // ambiguous or malformed
        }
    }

    /// <summary>A local repository's default branch, for cache scopes: origin's HEAD, else main, else master, else the current branch.</summary>
    private static string DefaultBranch(Repository repo)
    {
        if (repo.Refs["refs/remotes/origin/HEAD"] is SymbolicReference { TargetIdentifier: { } target } && target.StartsWith("refs/remotes/origin/", StringComparison.Ordinal))
        {
            return target["refs/remotes/origin/".Length..];
        }

        return new[] { "main", "master" }.FirstOrDefault(b => repo.Refs[$"refs/heads/{b}"] is not null)
            ?? (repo.Info.IsHeadDetached ? "" : repo.Head.FriendlyName);
    }

    /// <summary>Submodules of a local repository come from their own checkouts (git submodule update --init makes them).</summary>
    private static SubmoduleResolver LocalSubmodules(Repository repo, string relative, List<Repository> opened) => submodule =>
    {
        var full = Path.Combine(repo.Info.WorkingDirectory, relative is "." ? "" : relative, submodule.WorkspacePath);
        if (!Repository.IsValid(full))
        {
            throw new InvalidOperationException($"submodule '{submodule.WorkspacePath}' is not checked out in {repo.Info.WorkingDirectory} (git submodule update --init --recursive)");
        }

        var sub = new Repository(full);
        opened.Add(sub);
        return (sub.Lookup<Commit>(submodule.Commit) ?? throw new InvalidOperationException(
            $"submodule '{submodule.WorkspacePath}' has no commit {submodule.Commit.Sha[..12]}; fetch it (git submodule update --recursive)"), null);
    };

    /// <summary>A submodule met while writing: its place in the workspace and in the repository that has the gitlink, with that repository's tree and URL.</summary>
    public sealed record Submodule(string WorkspacePath, string PathInParent, ObjectId Commit, Tree ParentTree, string? ParentUrl);

    /// <summary>Finds the commit a submodule points to, in a repository that has it, and that repository's URL (for its own relative submodule URLs).</summary>
    public delegate (Commit Commit, string? Url) SubmoduleResolver(Submodule submodule);

    /// <summary>
    /// Writes a tree as a workspace layer, once per tree id (concurrent runs race harmlessly: the
    /// first rename wins). With <paramref name="submodules"/>, each submodule's tree is written at
    /// its path, recursively; the tree id covers the submodules' commits, so the key only needs to
    /// say that they are in.
    /// </summary>
    public static string Export(Tree tree, string stateDirectory, SubmoduleResolver? submodules = null, string? url = null)
    {
        var root = Path.Combine(new StateLayout(stateDirectory).Checkouts, tree.Sha[..16] + (submodules is null ? "" : "-sub"));
        if (!Directory.Exists(root))
        {
            var temp = StoreDirectory.TemporaryName(root);
            try
            {
                using (var target = RootedDirectory.Open(temp, create: true, keepDirectoriesOpen: true))
                {
                    Write(tree, target, WorkspaceDirectory, "", "", tree, url, submodules);
                }

                StoreDirectory.Publish(temp, root);
            }
            finally
            {
                if (Directory.Exists(temp))
                {
                    Directory.Delete(temp, recursive: true); // a refused tree leaves nothing half-written
                }
            }
        }

        Directory.SetLastWriteTimeUtc(root, DateTime.UtcNow); // used now (see StoreCollector)
        return root;
    }

    /// <summary>Where the project is in its repository, from the root: "." or "a/b".</summary>
    public static string Relative(Repository repo, string projectPath) =>
        Path.GetRelativePath(repo.Info.WorkingDirectory, Path.GetFullPath(projectPath)).Replace('\\', '/');

    private static string Prefix(string relative) => relative is "." ? "" : relative.TrimEnd('/') + "/";

    /// <summary>
    /// What the working directory changes under <paramref name="relative"/> (a path from the
    /// repository's root): modified, deleted and untracked files that are not ignored, in ordinal order.
    /// </summary>
    public static IReadOnlyList<string> Uncommitted(Repository repo, string relative)
    {
        var prefix = Prefix(relative);
        return repo.RetrieveStatus(new StatusOptions { IncludeUntracked = true, RecurseUntrackedDirs = true, IncludeIgnored = false })
            .Where(e => e.State != FileStatus.Unaltered && e.State != FileStatus.Ignored && e.FilePath.StartsWith(prefix, StringComparison.Ordinal))
            .Select(e => e.FilePath)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// What a verb that read the committed tree says of the changes it left out, or null when
    /// there are none: how many, the first few (relative to the project), and how to include them.
    /// </summary>
    public static string? LeftOut(IReadOnlyList<string> changes, string relative, string verb, string commit)
    {
        if (changes.Count == 0)
        {
            return null;
        }

        var prefix = Prefix(relative);
        var named = string.Join(", ", changes.Take(3).Select(c => c[prefix.Length..])) + (changes.Count > 3 ? ", …" : "");
        return $"note: {verb} commit {commit[..Math.Min(12, commit.Length)]}, without {changes.Count} uncommitted change{(changes.Count == 1 ? "" : "s")} ({named}); add --worktree to include them";
    }

    /// <summary>The working directory's changes under <paramref name="relative"/> as a layer, stored by digest; null when there are none.</summary>
    private static (string Layer, string Digest)? WriteChanges(Repository repo, string relative, string stateDirectory)
    {
        var prefix = Prefix(relative);
        var changed = Uncommitted(repo, relative);
        if (changed.Count == 0)
        {
            return null;
        }

        var temp = StoreDirectory.TemporaryIn(new StateLayout(stateDirectory).Checkouts, "changes");
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var source = RootedDirectory.Open(repo.Info.WorkingDirectory))
        using (var changes = RootedDirectory.Open(temp, create: true))
        {
            foreach (var path in changed)
            {
                var target = $"{WorkspaceDirectory}/{path[prefix.Length..]}";
                digest.AppendData(System.Text.Encoding.UTF8.GetBytes(path + "\0"));
                var info = source.Stat(path);
                if (info is { Kind: EntryKind.SymbolicLink })
                {
                    var link = source.ReadLink(path);
                    changes.CreateSymbolicLink(target, link);
                    digest.AppendData(System.Text.Encoding.UTF8.GetBytes("link:" + link));
                }
                else if (info is { Kind: EntryKind.File } && source.OpenRead(path) is { } content)
                {
                    digest.AppendData(System.Text.Encoding.UTF8.GetBytes($"mode:{(int)info.Mode}:"));
                    using (content)
                    using (var file = changes.CreateFile(target, info.Mode & (UnixFileMode)0x1ff))
                    {
                        digest.AppendData(CopyHashing(content, file)); // hashed as it is copied, not read again
                    }
                }
                else if (info is null)
                {
                    changes.CreateWhiteout(target);
                    digest.AppendData("deleted"u8);
                }
            }
        }

        var hex = Convert.ToHexStringLower(digest.GetHashAndReset());
        var layer = Path.Combine(new StateLayout(stateDirectory).Checkouts, "changes-" + hex[..16]);
        StoreDirectory.Publish(temp, layer);

        return (layer, hex);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="target"/> and returns the SHA-256 of what went through.</summary>
    private static byte[] CopyHashing(Stream source, Stream target)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        int n;
        while ((n = source.Read(buffer)) > 0)
        {
            target.Write(buffer, 0, n);
            hash.AppendData(buffer, 0, n);
        }

        return hash.GetHashAndReset();
    }

    /// <param name="workspacePrefix">Where <paramref name="tree"/> is in the workspace.</param>
    /// <param name="repositoryPrefix">Where it is in its own repository (a submodule starts again at "").</param>
    private static void Write(Tree tree, RootedDirectory target, string directory, string workspacePrefix, string repositoryPrefix, Tree repositoryRoot,
        string? repositoryUrl, SubmoduleResolver? submodules)
    {
        // A repository is hostile input: its trees are checked as git fsck does before a file of them is written.
        GitTreeCheck.Verify(tree, $"{workspacePrefix}");
        target.CreateDirectory(directory);
        foreach (var entry in tree)
        {
            var path = $"{directory}/{entry.Name}";
            switch (entry.TargetType)
            {
                case TreeEntryTargetType.Tree:
                    Write((Tree)entry.Target, target, path, $"{workspacePrefix}{entry.Name}/", $"{repositoryPrefix}{entry.Name}/", repositoryRoot, repositoryUrl, submodules);
                    break;
                case TreeEntryTargetType.GitLink when submodules is not null:
                    var (commit, url) = submodules(new Submodule($"{workspacePrefix}{entry.Name}", $"{repositoryPrefix}{entry.Name}", entry.Target.Id, repositoryRoot, repositoryUrl));
                    Write(commit.Tree, target, path, $"{workspacePrefix}{entry.Name}/", "", commit.Tree, url, submodules);
                    break;
                case TreeEntryTargetType.GitLink:
                    target.CreateDirectory(path); // as git leaves a submodule that is not initialised
                    break;
                case TreeEntryTargetType.Blob when entry.Mode == Mode.SymbolicLink:
                    // Written as a link, never followed: the primitive refuses to write anything through it.
                    target.CreateSymbolicLink(path, ((Blob)entry.Target).GetContentText());
                    break;
                case TreeEntryTargetType.Blob:
                    using (var content = ((Blob)entry.Target).GetContentStream())
                    using (var file = target.CreateFile(path, entry.Mode == Mode.ExecutableFile ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100))
                    {
                        content.CopyTo(file);
                    }

                    break;
            }
        }
    }
}
