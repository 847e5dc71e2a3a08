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
    /// <summary>A name on the way to <paramref name="path"/> (a parent) is the cause: <paramref name="component"/> is <paramref name="kind"/>.</summary>
    public UnsafePathException(string root, string path, string component, string kind)
        : this(root, path, $"'{component}' is {kind}")
    {
        Component = component;
        Kind = kind;
    }

    public string Root { get; } = root;

    public string RelativePath { get; } = path;

    /// <summary>Why, in a few words ("'a' is a symbolic link").</summary>
    public string Reason { get; } = reason;

    /// <summary>The name on the way that is the cause ('a' of 'a/b'), when it is one rather than the path itself.</summary>
    public string? Component { get; }

    /// <summary>With <see cref="Component"/>: what it is ("a symbolic link", "not a directory").</summary>
    public string? Kind { get; }
}
