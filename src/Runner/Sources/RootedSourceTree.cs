using Ci.Isolation.Files;
using Ci.Pipeline.Sources;

namespace Ci.Runner.Sources;

/// <summary>
/// A repository's directory (a checkout, or the working tree) as the compiler reads it: the
/// pipeline file, its includes, the files cache keys hash. Every path is resolved inside the tree
/// by the kernel (<see cref="RootedDirectory"/>, openat2 RESOLVE_BENEATH): a link, or a directory
/// link on the way, that leads out of the tree makes the file absent, so an include can never read
/// a host file. Only regular files are read (a fifo would block forever).
/// </summary>
public sealed class RootedSourceTree : ISourceTree, IDisposable
{
    private readonly RootedDirectory? _root;

    /// <summary>A tree at <paramref name="root"/>; a directory that does not exist is an empty tree.</summary>
    /// <param name="description">What the tree is, for messages, when its path is not (a checkout: "commit 1a2b3c4d5e6f").</param>
    public RootedSourceTree(string root, string? description = null)
    {
        Description = description ?? Path.GetFullPath(root);
        _root = Directory.Exists(root) ? RootedDirectory.Open(root) : null;
    }

    public string Description { get; }

    public long? FileSize(string path)
    {
        using var file = _root?.OpenRead(path, LinkResolution.Beneath);
        return file?.Length;
    }

    public Stream OpenRead(string path) =>
        _root?.OpenRead(path, LinkResolution.Beneath) ?? throw new FileNotFoundException($"'{path}' is not a file in {Description}");

    public IEnumerable<string> EnumerateFiles() => _root is null ? [] :
        _root.Walk(enter: path => path != ".git")
            .Where(e => e.Info.Kind == EntryKind.File)
            .Select(e => e.Path)
            .Order(StringComparer.Ordinal)
            .ToList();

    public void Dispose() => _root?.Dispose();
}
