using Ci.Pipeline.Sources;
using LibGit2Sharp;

namespace Ci.Runner.Sources;

/// <summary>
/// A committed tree as the compiler reads it, straight from the object database (nothing is
/// written): what <c>validate</c> and <c>plan</c> read by default, so that they see what
/// <c>exec</c> runs. Links are resolved inside the tree as <see cref="RootedSourceTree"/> resolves
/// them in a checkout: one that leads out of the tree (absolute, or above its root) makes the file
/// absent. Only regular files are files; submodules are not entered.
/// </summary>
public sealed class GitCommitTree(Tree tree, string description) : ISourceTree
{
    /// <summary>As the kernel's limit on links followed in one lookup (ELOOP).</summary>
    private const int MaxLinks = 40;

    public string Description => description;

    public long? FileSize(string path) => Find(path)?.Size;

    public Stream OpenRead(string path) =>
        Find(path)?.GetContentStream() ?? throw new FileNotFoundException($"'{path}' is not a file in {Description}");

    public IEnumerable<string> EnumerateFiles()
    {
        var files = new List<string>();
        void Walk(Tree at, string prefix)
        {
            foreach (var entry in at)
            {
                if (entry.TargetType == TreeEntryTargetType.Tree)
                {
                    Walk((Tree)entry.Target, prefix + entry.Name + "/");
                }
                else if (entry.Mode is Mode.NonExecutableFile or Mode.ExecutableFile or Mode.NonExecutableGroupWritableFile)
                {
                    files.Add(prefix + entry.Name);
                }
            }
        }

        Walk(tree, "");
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>The regular file at <paramref name="path"/>, links on the way and at the end followed inside the tree; null otherwise.</summary>
    private Blob? Find(string path)
    {
        var links = 0;
        var pending = RelativePath.Normalize(path)?.Split('/').ToList();
        var resolved = new List<string>();
        var at = tree;
        while (pending is { Count: > 0 })
        {
            var name = pending[0];
            pending.RemoveAt(0);
            var entry = at[name];
            if (entry is null)
            {
                return null;
            }

            if (entry.Mode == Mode.SymbolicLink)
            {
                // Start again from the root with the link's target in its place.
                var target = ((Blob)entry.Target).GetContentText();
                if (++links > MaxLinks || target.StartsWith('/')
                    || RelativePath.Normalize(string.Join('/', [.. resolved, target, .. pending])) is not { } next)
                {
                    return null;
                }

                pending = [.. next.Split('/')];
                resolved.Clear();
                at = tree;
                continue;
            }

            if (entry.TargetType == TreeEntryTargetType.Tree)
            {
                at = (Tree)entry.Target;
                resolved.Add(name);
                continue;
            }

            return pending.Count == 0 && entry.TargetType == TreeEntryTargetType.Blob ? (Blob)entry.Target : null;
        }

        return null;
    }
}
