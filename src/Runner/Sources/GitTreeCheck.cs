using LibGit2Sharp;

namespace Ci.Runner.Sources;

/// <summary>
/// What git fsck checks of a tree before the runner writes it (fsck.c: duplicateEntries,
/// hasDot, hasDotdot, hasDotgit, fullPathname, gitmodulesSymlink). A tree that fails is not a tree
/// git itself would check out; a crafted one (a link <c>a</c> beside a directory <c>a</c>) is how
/// a checkout could be made to write through a link.
/// </summary>
public static class GitTreeCheck
{
    /// <summary>Throws <see cref="InvalidOperationException"/> naming the entry and the rule when <paramref name="tree"/> breaks one.</summary>
    public static void Verify(Tree tree, string where)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in tree)
        {
            var name = entry.Name;
            var path = $"{where}{name}";
            string? problem = name switch
            {
                "" => "an empty name",
                "." or ".." => $"the name '{name}'",
                _ when name.Contains('/') || name.Contains('\0') => "a name with '/' or NUL",
                _ when IsDotGit(name) => "a '.git' entry (it would be the repository's own directory)",
                ".gitmodules" when entry.Mode == Mode.SymbolicLink => "a .gitmodules that is a symbolic link",
                _ when !seen.Add(name) => "two entries of the same name (git fsck: duplicateEntries)",
                _ => null,
            };
            if (problem is not null)
            {
                throw new InvalidOperationException(
                    $"the commit's tree is malformed at '{path}': {problem}; refusing to check it out (git fsck reports it too)");
            }
        }
    }

    /// <summary>".git" in any case, and the forms that NTFS and HFS+ treat as it (".git.", ".git ", "git~1").</summary>
    private static bool IsDotGit(string name)
    {
        var trimmed = name.TrimEnd('.', ' ');
        return trimmed.Equals(".git", StringComparison.OrdinalIgnoreCase) || name.Equals("git~1", StringComparison.OrdinalIgnoreCase);
    }
}
