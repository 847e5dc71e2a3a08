using Ci.Runner.Engine;

namespace Ci.Runner.Sources;

/// <summary>
/// The runner's sources: a local repository (<see cref="Checkout"/>) or a remote one mirrored
/// under the state directory (<see cref="RemoteSource"/>), written once per tree id as the
/// workspace layer the steps stack; the pipeline is compiled from the same files.
/// </summary>
public sealed class GitSources(string stateDirectory, (string? Username, string? Password) credentials) : IRunSources
{
    public async Task<PreparedSource> PrepareAsync(SourceRequest request, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> layers;
        string commit, branch, key, defaultBranch;
        string? leftOut = null;
        IReadOnlyList<string>? changed = null;
        try
        {
            if (request.Url is { } url)
            {
                (layers, commit, branch, key, defaultBranch, changed) = await RemoteSource.PrepareAsync(
                    url, request.Ref, stateDirectory, credentials, request.Submodules, request.Depth, request.ChangesSince, cancellationToken);
            }
            else
            {
                // libgit2 blocks: off the caller's thread (the server's request loop, the CLI's signal handling).
                (layers, commit, branch, key, defaultBranch, leftOut) = await Task.Run(() => Checkout.Prepare(
                    request.LocalPath ?? throw new ArgumentException("a source needs a local path or a URL", nameof(request)),
                    stateDirectory, request.Worktree, request.Submodules, request.Commit), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or LibGit2Sharp.LibGit2SharpException)
        {
            throw new SourceException(ex.Message, ex);
        }

        var repository = request.Url is { } remote ? RemoteSource.Display(remote) : request.LocalPath!;
        // The plan is compiled from the sources the steps see: the committed tree, or with --worktree the working directory.
        var tree = request.Worktree ? new RootedSourceTree(request.LocalPath!)
            : new RootedSourceTree(Path.Combine(layers[^1], Checkout.WorkspaceDirectory), request.Url is null ? $"commit {commit[..12]}" : $"commit {commit[..12]} of {repository}");
        return new PreparedSource(new Workspace(layers, key, repository, commit), tree, branch, defaultBranch, leftOut) { ChangedFiles = changed };
    }
}
