using LibGit2Sharp;

namespace Ci.Runner.Execution;

/// <summary>
/// Sources from a git URL (file://, https://, ssh): a bare mirror per remote under
/// STATE/mirrors, created once and fetched into on every run (all refs, pruned), so a large
/// repository is never cloned twice. Fetches of one mirror are serialised by a lock; the
/// workspace is the chosen commit's tree, written once per tree id like a local checkout.
/// Credentials (RunnerSettings: RUNNER_GIT_USERNAME, RUNNER_GIT_PASSWORD, where a token works as
/// the password) are never printed: URLs are shown without their user part.
/// </summary>
public static class RemoteSource
{
    /// <summary>
    /// Updates the mirror of <paramref name="url"/> and checks out <paramref name="reference"/> (a branch,
    /// a tag or a commit; default: the remote's HEAD); with <paramref name="submodules"/>, every
    /// submodule too, each from a mirror of its own (URLs relative to the superproject's resolved as git does).
    /// </summary>
    public static (IReadOnlyList<string> Layers, string Commit, string Branch, string Key) Prepare(string url, string? reference, string stateDirectory,
        (string? Username, string? Password) credentials = default, bool submodules = false)
    {
        var opened = new List<Repository>();
        try
        {
            var repo = new Repository(Mirror(url, stateDirectory, credentials));
            opened.Add(repo);
            var (commit, branch) = Resolve(repo, reference, url);
            Checkout.SubmoduleResolver? resolver = submodules ? submodule =>
            {
                var subUrl = GitModules.UrlOf(submodule, url);
                var sub = new Repository(Mirror(subUrl, stateDirectory, credentials));
                opened.Add(sub);
                return (sub.Lookup<Commit>(submodule.Commit) ?? throw new InvalidOperationException(
                    $"submodule '{submodule.WorkspacePath}': {Display(subUrl)} has no commit {submodule.Commit.Sha[..12]}"), subUrl);
            }
            : null;
            return ([Checkout.Export(commit.Tree, stateDirectory, resolver, url)], commit.Sha, branch, commit.Tree.Sha + (submodules ? "-sub" : ""));
        }
        finally
        {
            opened.ForEach(r => r.Dispose());
        }
    }

    /// <summary>The path of the up-to-date bare mirror of <paramref name="url"/>: made on first use, fetched into after.</summary>
    public static string Mirror(string url, string stateDirectory, (string? Username, string? Password) credentials = default)
    {
        Credentials Provide(string _, string usernameFromUrl, SupportedCredentialTypes __) => credentials.Password is { Length: > 0 } password
            ? new UsernamePasswordCredentials { Username = credentials.Username ?? usernameFromUrl ?? "git", Password = password }
            : new DefaultCredentials();

        var mirrors = Directory.CreateDirectory(Path.Combine(stateDirectory, "mirrors")).FullName;
        var path = Path.Combine(mirrors, Ci.Isolation.Images.CacheKey.Of("mirror", url)[..16] + ".git");
        using (Caches.FileLock.Acquire(path + ".lock", $"the mirror of {Display(url)}"))
        {
            if (!Directory.Exists(path))
            {
                var temp = path + ".tmp-" + Environment.ProcessId;
                if (Directory.Exists(temp))
                {
                    Directory.Delete(temp, recursive: true);
                }

                Repository.Init(temp, isBare: true);
                using (var fresh = new Repository(temp))
                {
                    fresh.Network.Remotes.Add("origin", url, "+refs/*:refs/*");
                }

                try
                {
                    Fetch(temp, url, Provide);
                }
                catch
                {
                    Directory.Delete(temp, recursive: true);
                    throw;
                }

                Directory.Move(temp, path); // a mirror exists only once it has been fetched whole
            }
            else
            {
                Fetch(path, url, Provide);
            }
        }

        return path;
    }

    /// <summary>The URL as it may be shown: without user and password.</summary>
    public static string Display(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0 ? url.Replace(uri.UserInfo + "@", "", StringComparison.Ordinal) : url;

    private static void Fetch(string mirror, string url, LibGit2Sharp.Handlers.CredentialsHandler credentials)
    {
        using var repo = new Repository(mirror);
        var options = new FetchOptions { Prune = true, TagFetchMode = TagFetchMode.All, CredentialsProvider = credentials };
        try
        {
            var remote = repo.Network.Remotes["origin"];
            Commands.Fetch(repo, "origin", remote.FetchRefSpecs.Select(r => r.Specification), options, "runner: mirror");

            // The remote's default branch becomes the mirror's HEAD.
            if (repo.Network.ListReferences(remote, credentials).FirstOrDefault(r => r.CanonicalName == "HEAD") is SymbolicReference { TargetIdentifier: { } head })
            {
                repo.Refs.UpdateTarget(repo.Refs["HEAD"], head);
            }
        }
        catch (LibGit2SharpException ex)
        {
            throw new InvalidOperationException($"cannot fetch {Display(url)}: {ex.Message.Replace(url, Display(url), StringComparison.Ordinal)}", ex);
        }
    }

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
            : throw new InvalidOperationException($"{Display(url)} has no branch, tag or commit '{reference}'");
    }
}
