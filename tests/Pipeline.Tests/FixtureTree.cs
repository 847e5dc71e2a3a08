using Ci.Pipeline.Sources;

namespace Ci.Pipeline.Tests;

/// <summary>
/// The tests' own fixture directories as a source tree. Test-only: it trusts the directory. The
/// runner reads repositories through RootedSourceTree (src/Runner), which resolves every path
/// inside the tree with openat2.
/// </summary>
internal sealed class FixtureTree : ISourceTree
{
    private readonly string _root;

    public FixtureTree(string root)
    {
        _root = Path.GetFullPath(root).TrimEnd('/');
    }

    public string Description => _root;

    public long? FileSize(string path)
    {
        var full = Resolve(path);
        return full is not null && File.Exists(full) ? new FileInfo(full).Length : null;
    }

    public Stream OpenRead(string path) =>
        Resolve(path) is { } full ? File.OpenRead(full) : throw new FileNotFoundException($"'{path}' is not in {_root}");

    public IEnumerable<string> EnumerateFiles()
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        return Directory.EnumerateFiles(_root, "*", options)
            .Select(f => Path.GetRelativePath(_root, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith(".git/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    private string? Resolve(string path)
    {
        if (RelativePath.Normalize(path) is not { } rel)
        {
            return null;
        }

        var full = Path.Combine(_root, rel);
        var info = new FileInfo(full);
        var target = info.LinkTarget is null ? full : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        return target is not null && (target == _root || target.StartsWith(_root + "/", StringComparison.Ordinal)) ? full : null;
    }
}
