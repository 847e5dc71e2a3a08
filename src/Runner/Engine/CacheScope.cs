using System.Security.Cryptography;
using System.Text;

namespace Ci.Runner.Engine;

/// <summary>
/// Whose caches a run may read and write, as GitHub Actions scopes them: a repository never sees
/// another's; a run writes only to its own branch's scope; it reads its own branch's first, then
/// the default branch's, never another branch's. A pull request writes to a scope of its own
/// (never the default branch's, even from a fork whose branch is named like it), so an untrusted
/// change cannot poison what the default branch restores and runs.
/// </summary>
/// <param name="Repository">What names the repository: its clone URL, or its path for a local one.</param>
public sealed record CacheScope(string Repository, string Branch, string DefaultBranch, bool PullRequest)
{
    /// <summary>A scope for tests and tools that have no repository (all runs share it).</summary>
    public static CacheScope Unscoped { get; } = new("", "", "", false);

    /// <summary>The directory names (repository, then tier) of the one scope this run writes.</summary>
    public string WriteScope => $"{RepositoryId}/{Tier(Branch, PullRequest)}";

    /// <summary>The scopes this run reads, in order: its own, then the default branch's.</summary>
    public IReadOnlyList<string> ReadScopes => new[] { WriteScope, $"{RepositoryId}/{Tier(DefaultBranch, false)}" }.Distinct().ToList();

    private string RepositoryId => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Repository)))[..16];

    /// <summary>A branch as a directory name: 'b-' or 'pr-', then its name with anything unsafe replaced, then a short hash of the exact name.</summary>
    private static string Tier(string branch, bool pullRequest)
    {
        var safe = new string(branch.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray()).Trim('.');
        var exact = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(branch)))[..8];
        return $"{(pullRequest ? "pr" : "b")}-{(safe.Length > 60 ? safe[..60] : safe)}-{exact}";
    }
}
