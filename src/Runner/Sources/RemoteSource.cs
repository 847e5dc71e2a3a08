using Ci.Runner.Engine;
using LibGit2Sharp;

namespace Ci.Runner.Sources;

/// <summary>
/// Sources from a git URL (file://, https://, ssh): a bare mirror per remote under
/// STATE/mirrors, created once and fetched into on every run (all refs, pruned), so a large
/// repository is never cloned twice. Fetches of one mirror are serialised by a lock; the
/// workspace is the chosen commit's tree, written once per tree id like a local checkout.
/// Credentials come from RunnerSettings (RUNNER_GIT_USERNAME, RUNNER_GIT_PASSWORD, where a token
/// works as the password) or else from the user's git credential helpers; they are never printed:
/// URLs are shown without their user part. A new mirror may be shallow (<c>depth</c>): only that
/// many commits of each branch are fetched, and later fetches add only what is new.
/// </summary>
public static class RemoteSource
{
    /// <summary>
    /// Updates the mirror of <paramref name="url"/> and checks out <paramref name="reference"/> (a branch,
    /// a tag or a commit; default: the remote's HEAD); with <paramref name="submodules"/>, every
    /// submodule too, each from a mirror of its own (URLs relative to the superproject's resolved as git does).
    /// The wait for the mirror's lock holds no thread; libgit2's fetch and checkout run on a worker thread,
    /// and a cancelled token stops a fetch at its next progress report.
    /// </summary>
    /// <param name="changesSince">A commit or branch to list the changed files against (<see cref="CommitChanges"/>); null: none listed.</param>
    public static async Task<(IReadOnlyList<string> Layers, string Commit, string Branch, string Key, string DefaultBranch, IReadOnlyList<string>? Changed)> PrepareAsync(
        string url, string? reference, string stateDirectory, (string? Username, string? Password) credentials = default,
        bool submodules = false, int depth = 0, string? changesSince = null, CancellationToken cancellationToken = default)
    {
        var mirror = await MirrorAsync(url, stateDirectory, credentials, depth, cancellationToken);
        return await Task.Run(() => CheckOut(mirror, url, reference, stateDirectory, credentials, submodules, changesSince, cancellationToken), cancellationToken);
    }

    private static (IReadOnlyList<string> Layers, string Commit, string Branch, string Key, string DefaultBranch, IReadOnlyList<string>? Changed) CheckOut(
        string mirror, string url, string? reference, string stateDirectory, (string? Username, string? Password) credentials, bool submodules,
        string? changesSince, CancellationToken cancellationToken)
    {
        var opened = new List<Repository>();
        try
        {
            var repo = new Repository(mirror);
            opened.Add(repo);
            var (commit, branch) = Resolve(repo, reference, url);
            // Submodules are found while the tree is written: their mirrors are fetched on this worker thread,
            // each under its lock (a blocking wait that the token ends).
            Checkout.SubmoduleResolver? resolver = submodules ? submodule =>
            {
                var subUrl = GitModules.UrlOf(submodule, url);
                var sub = new Repository(Mirror(subUrl, stateDirectory, credentials, cancellationToken: cancellationToken));
                opened.Add(sub);
                return (sub.Lookup<Commit>(submodule.Commit) ?? throw new InvalidOperationException(
                    $"submodule '{submodule.WorkspacePath}': {Display(subUrl)} has no commit {submodule.Commit.Sha[..12]}"), subUrl);
            }
            : null;
            // The mirror's HEAD is the remote's default branch (see Mirror).
            return ([Checkout.Export(commit.Tree, stateDirectory, resolver, url)], commit.Sha, branch, commit.Tree.Sha + (submodules ? "-sub" : ""),
                repo.Info.IsHeadDetached ? "" : repo.Head.FriendlyName, changesSince is null ? null : CommitChanges.Between(repo, commit, changesSince));
        }
        finally
        {
            opened.ForEach(r => r.Dispose());
        }
    }

    /// <summary>
    /// The path of the up-to-date bare mirror of <paramref name="url"/>: made on first use (with
    /// <paramref name="depth"/> above 0, shallow: that many commits of each branch), fetched into after.
    /// </summary>
    public static async Task<string> MirrorAsync(string url, string stateDirectory, (string? Username, string? Password) credentials = default, int depth = 0,
        CancellationToken cancellationToken = default)
    {
        var path = MirrorPath(url, stateDirectory);
        using (await Ci.Isolation.Files.FileLock.AcquireAsync(path + ".lock", $"the mirror of {Display(url)}", cancellationToken: cancellationToken))
        {
            await Task.Run(() => Update(path, url, credentials, depth, cancellationToken), cancellationToken);
        }

        return path;
    }

    /// <summary>As <see cref="MirrorAsync"/>, on the calling thread: for the submodules found while a tree is written.</summary>
    private static string Mirror(string url, string stateDirectory, (string? Username, string? Password) credentials, int depth = 0,
        CancellationToken cancellationToken = default)
    {
        var path = MirrorPath(url, stateDirectory);
        using (Ci.Isolation.Files.FileLock.Acquire(path + ".lock", $"the mirror of {Display(url)}", cancellationToken: cancellationToken))
        {
            Update(path, url, credentials, depth, cancellationToken);
        }

        return path;
    }

    private static string MirrorPath(string url, string stateDirectory) =>
        Path.Combine(Directory.CreateDirectory(new StateLayout(stateDirectory).Mirrors).FullName, Ci.Isolation.Images.CacheKey.Of("mirror", url)[..16] + ".git");

    /// <summary>Creates or fetches into the mirror at <paramref name="path"/>; its lock is held by the caller.</summary>
    private static void Update(string path, string url, (string? Username, string? Password) credentials, int depth, CancellationToken cancellationToken)
    {
        (string Username, string Password)? fromHelper = null;
        Credentials Provide(string _, string usernameFromUrl, SupportedCredentialTypes __)
        {
            if (credentials.Password is { Length: > 0 } password)
            {
                return new UsernamePasswordCredentials { Username = credentials.Username ?? usernameFromUrl ?? "git", Password = password };
            }

            fromHelper ??= GitCredentialHelper.Fill(url);
            return fromHelper is { } helped
                ? new UsernamePasswordCredentials { Username = helped.Username, Password = helped.Password }
                : new DefaultCredentials();
        }

        void Fetched(bool worked)
        {
            if (fromHelper is { } helped)
            {
                GitCredentialHelper.Report(url, helped, worked);
            }
        }

        var fetch = new Fetching(Provide, cancellationToken);
        try
        {
            if (Directory.Exists(path))
            {
                Fetch(path, url, fetch);
            }
            else
            {
                Create(path, url, depth, fetch);
            }
        }
        catch (AuthenticationFailedException)
        {
            Fetched(worked: false);
            throw;
        }

        Fetched(worked: true);
    }

    /// <summary>A new mirror, fetched whole in a directory of its own, then renamed into place: a mirror exists only once it is complete.</summary>
    private static void Create(string path, string url, int depth, Fetching fetch)
    {
        var temp = path + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        try
        {
            if (depth > 0)
            {
                CloneShallow(temp, url, depth, fetch);
            }
            else
            {
                Repository.Init(temp, isBare: true);
                using var fresh = new Repository(temp);
                fresh.Network.Remotes.Add("origin", url, "+refs/*:refs/*");
            }

            Fetch(temp, url, fetch);
        }
        catch
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }

            throw;
        }

        Directory.Move(temp, path);
    }

    /// <summary>
    /// A shallow bare clone: libgit2 fetches with a depth only when cloning (and only over http(s)
    /// or ssh: its local transport refuses), so a shallow mirror starts as a clone, which then
    /// takes the mirror's refspec for every later fetch.
    /// </summary>
    private static void CloneShallow(string path, string url, int depth, Fetching fetch)
    {
        if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            && !url.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) && !url.Contains('@', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"--depth needs an http(s) or ssh remote; {Display(url)} is read from the file system, whole (there is nothing to download)");
        }

        try
        {
            Repository.Clone(url, path, new CloneOptions(fetch.Options(new FetchOptions { Depth = depth })) { IsBare = true });
        }
        catch (LibGit2SharpException ex)
        {
            throw fetch.Failed(url, ex);
        }

        using var repo = new Repository(path);
        repo.Network.Remotes.Update("origin", r => r.FetchRefSpecs = ["+refs/*:refs/*"]);
        foreach (var leftover in repo.Refs.FromGlob("refs/remotes/*").ToList())
        {
            repo.Refs.Remove(leftover); // the clone's remote-tracking HEAD: a mirror has the remote's refs as they are
        }
    }

    /// <summary>The URL as it may be shown: without user and password.</summary>
    public static string Display(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0 ? url.Replace(uri.UserInfo + "@", "", StringComparison.Ordinal) : url;

    /// <summary>
    /// Fetches every ref into the mirror. A shallow mirror keeps its boundary: libgit2's fetch
    /// (LibGit2Sharp passes it no depth, which means "full") deletes the shallow file without
    /// fetching the history behind it, which leaves a mirror whose oldest commits have parents it
    /// does not hold. git keeps the file on a plain fetch, and so do we.
    /// </summary>
    private static void Fetch(string mirror, string url, Fetching fetch)
    {
        var shallowFile = Path.Combine(mirror, "shallow");
        var boundary = File.Exists(shallowFile) ? File.ReadAllLines(shallowFile) : null;
        try
        {
            FetchAll(mirror, url, fetch);
        }
        finally
        {
            if (boundary is not null)
            {
                var now = File.Exists(shallowFile) ? File.ReadAllLines(shallowFile) : [];
                File.WriteAllLines(shallowFile, boundary.Union(now).Where(l => l.Length > 0));
            }
        }
    }

    private static void FetchAll(string mirror, string url, Fetching fetch)
    {
        using var repo = new Repository(mirror);
        var options = fetch.Options(new FetchOptions { Prune = true, TagFetchMode = TagFetchMode.All });
        try
        {
            var remote = repo.Network.Remotes["origin"];
            Commands.Fetch(repo, "origin", remote.FetchRefSpecs.Select(r => r.Specification), options, "runner: mirror");

            // The remote's default branch becomes the mirror's HEAD.
            if (repo.Network.ListReferences(remote, fetch.Credentials).FirstOrDefault(r => r.CanonicalName == "HEAD") is SymbolicReference { TargetIdentifier: { } head })
            {
                repo.Refs.UpdateTarget(repo.Refs["HEAD"], head);
            }
        }
        catch (LibGit2SharpException ex)
        {
            throw fetch.Failed(url, ex);
        }
    }

    /// <summary>What every fetch of one update takes: the credentials, and the token that stops it at its next progress report.</summary>
    private sealed record Fetching(LibGit2Sharp.Handlers.CredentialsHandler Credentials, CancellationToken Token)
    {
        public FetchOptions Options(FetchOptions options)
        {
            options.CredentialsProvider = Credentials;
            options.OnTransferProgress = _ => !Token.IsCancellationRequested;
            options.OnProgress = _ => !Token.IsCancellationRequested;
            return options;
        }

        /// <summary>The exception for a failed fetch: a cancellation when our token stopped it, else what the remote said.</summary>
        public Exception Failed(string url, LibGit2SharpException ex) =>
            Token.IsCancellationRequested ? new OperationCanceledException($"the fetch of {Display(url)} was stopped", ex, Token) : FetchFailed(url, ex);
    }

    private static InvalidOperationException FetchFailed(string url, LibGit2SharpException ex)
    {
        var message = $"cannot fetch {Display(url)}: {ex.Message.Replace(url, Display(url), StringComparison.Ordinal)}";
        if (ex.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            message += " (the server's certificate is not trusted here: add its CA to the system's trust store, or point SSL_CERT_FILE at a bundle that holds it)";
        }

        return IsAuthentication(ex)
            ? new AuthenticationFailedException(message + " (credentials: RUNNER_GIT_USERNAME and RUNNER_GIT_PASSWORD, or a git credential helper that knows this URL)", ex)
            : new InvalidOperationException(message, ex);
    }

    private static bool IsAuthentication(LibGit2SharpException ex) =>
        ex.Message.Contains("authentication", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("401", StringComparison.Ordinal)
        || ex.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase);

    /// <summary>The remote refused the credentials (or asked for some and got none).</summary>
    private sealed class AuthenticationFailedException(string message, Exception inner) : InvalidOperationException(message, inner);

    private static (Commit Commit, string Branch) Resolve(Repository repo, string? reference, string url)
    {
        if (reference is null)
        {
            return repo.Head.Tip is { } tip ? (tip, repo.Head.FriendlyName) : throw new InvalidOperationException($"{Display(url)} has no default branch; name one with --ref");
        }

        if (repo.Refs[$"refs/heads/{reference}"] is { } branch)
        {
            return (branch.ResolveToDirectReference().Target.Peel<Commit>(), reference);
        }

        if (repo.Refs[$"refs/tags/{reference}"] is { } tag)
        {
            return (tag.ResolveToDirectReference().Target.Peel<Commit>(), "");
        }

        return reference.Length >= 4 && reference.All(Uri.IsHexDigit) && repo.Lookup<Commit>(reference) is { } commit
            ? (commit, "")
            : throw new InvalidOperationException($"{Display(url)} has no branch, tag or commit '{reference}'"
                + (repo.Info.IsShallow ? " (its mirror is shallow, made with --depth: an older commit is not in it)" : ""));
    }
}
