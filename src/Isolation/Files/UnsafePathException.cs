using Ci.Isolation.Containers;

namespace Ci.Isolation.Files;

/// <summary>
/// A path in a tree from outside (a layer, a checkout, a container's files) that would leave its
/// root or go through a symbolic link: refused, nothing done. The message names the root, the path
/// and why.
/// </summary>
public sealed class UnsafePathException(string root, string path, string reason)
    : IsolationException($"'{path}' in {root}: {reason}; refused (nothing is read or written outside the tree, nor through a link)")
{
    public string Root { get; } = root;

    public string RelativePath { get; } = path;

    /// <summary>Why, in a few words ("'a' is a symbolic link").</summary>
    public string Reason { get; } = reason;
}
