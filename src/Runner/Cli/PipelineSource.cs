using Ci.Pipeline.Sources;
using Ci.Runner.Sources;
using LibGit2Sharp;

namespace Ci.Runner.Cli;

/// <summary>
/// The tree <c>validate</c> and <c>plan</c> read: by default what <c>exec</c> runs (the committed
/// tree of the project's repository, read from git, nothing written), with <c>--worktree</c> the
/// working directory as it is, as <c>exec --worktree</c> runs it. Outside git, or before the first
/// commit, there is only the working directory. <see cref="Note"/> says what was left out or why
/// the working directory was read.
/// </summary>
internal sealed class PipelineSource : IDisposable
{
    private readonly IDisposable? _owned;

    private PipelineSource(ISourceTree tree, string? note, IDisposable? owned)
    {
        Tree = tree;
        Note = note;
        _owned = owned;
    }

    public ISourceTree Tree { get; }

    /// <summary>For standard error, before the diagnostics; null when the tree read is the one the user sees.</summary>
    public string? Note { get; }

    /// <param name="verb">What the verb does, for the note: "runner validate checks".</param>
    public static PipelineSource Open(string root, bool worktree, string verb)
    {
        if (worktree || GitDiscovery.Find(root) is not { } gitDir)
        {
            return WorkingDirectory(root, null);
        }

        Repository? repo = null;
        try
        {
            repo = new Repository(gitDir);
            var relative = Checkout.Relative(repo, root);
            if (repo.Head.Tip is not { } commit)
            {
                return WorkingDirectory(root, $"note: the repository has no commit yet: {verb} the working tree (runner exec needs --worktree until the first commit)");
            }

            if ((relative is "." ? commit.Tree : commit[relative]?.Target as Tree) is not { } tree)
            {
                return WorkingDirectory(root, $"note: nothing of {relative} is committed: {verb} the working tree (runner exec needs --worktree)");
            }

            var source = new PipelineSource(new GitCommitTree(tree, $"commit {commit.Sha[..12]}"),
                Checkout.LeftOut(Checkout.Uncommitted(repo, relative), relative, verb, commit.Sha), repo);
            repo = null;
            return source;
        }
        catch (LibGit2SharpException ex)
        {
            return WorkingDirectory(root, $"note: the git repository cannot be read ({ex.Message}): {verb} the working tree");
        }
        finally
        {
            repo?.Dispose();
        }
    }

    private static PipelineSource WorkingDirectory(string root, string? note)
    {
        var tree = new RootedSourceTree(root);
        return new PipelineSource(tree, note, tree);
    }

    public void Dispose() => _owned?.Dispose();
}
