using Ci.Isolation.Files;

namespace Ci.Isolation.Images;

/// <summary>
/// Reads the merged view of a stack of overlayfs layer directories without mounting it: a path
/// is the top-most layer's, unless a whiteout (a 0/0 character device), an opaque directory or a
/// non-directory above hides it. Used to collect a job's artifacts from its steps' layers, which
/// a container wrote: every read goes through <see cref="RootedDirectory"/>, so a link in a layer
/// is an entry, never a way out (a link to / is copied as a link, not as the host's files).
/// </summary>
public sealed class LayerStack : IDisposable
{
    private readonly List<RootedDirectory> _layers = [];

    public LayerStack(IReadOnlyList<string> topFirst)
    {
        try
        {
            foreach (var layer in topFirst)
            {
                _layers.Add(RootedDirectory.Open(layer));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose() => _layers.ForEach(l => l.Dispose());

    /// <summary>
    /// Every file and symbolic link under <paramref name="directory"/> (a path inside the container,
    /// e.g. /workspace) that <paramref name="select"/> takes, with the layer that holds it. Links
    /// to directories are listed as links and never entered.
    /// </summary>
    public IEnumerable<(string RelativePath, RootedDirectory Layer, EntryInfo Info)> Files(string directory, Func<string, bool> select)
    {
        var root = directory.Trim('/');
        var candidates = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var layer in _layers)
        {
            foreach (var (path, info) in layer.Walk(root))
            {
                if (info.Kind is EntryKind.File or EntryKind.SymbolicLink)
                {
                    candidates.Add(path);
                }
            }
        }

        foreach (var rel in candidates.Where(select))
        {
            if (Resolve(root.Length == 0 ? rel : $"{root}/{rel}") is { } found && found.Info.Kind is EntryKind.File or EntryKind.SymbolicLink)
            {
                yield return (rel, found.Layer, found.Info);
            }
        }
    }

    /// <summary>The layer entry a container would see at <paramref name="relative"/>, or null when it is deleted or hidden.</summary>
    public (RootedDirectory Layer, EntryInfo Info)? Resolve(string relative)
    {
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var layer in _layers)
        {
            if (layer.Stat(relative) is { } info)
            {
                return info.IsWhiteout ? null : (layer, info);
            }

            // In this layer, a deleted or opaque ancestor, or one that is not a directory, hides everything below it.
            for (var i = parts.Length - 1; i > 0; i--)
            {
                var ancestor = string.Join('/', parts[..i]);
                if (layer.Stat(ancestor) is { } above && (above.Kind != EntryKind.Directory || layer.GetDirectoryXattr(ancestor, "trusted.overlay.opaque") is [(byte)'y']))
                {
                    return null;
                }
            }
        }

        return null;
    }
}
