using Ci.Isolation.Native;

namespace Ci.Isolation.Images;

/// <summary>
/// Reads the merged view of a stack of overlayfs layer directories without mounting it: a path
/// is the top-most layer's, unless a whiteout (a 0/0 character device) or an opaque directory
/// above hides it. Used to collect a job's artifacts from its steps' layers.
/// </summary>
public sealed class LayerStack(IReadOnlyList<string> topFirst)
{
    /// <summary>Every file under <paramref name="directory"/> (a path inside the container, e.g. /workspace) that <paramref name="select"/> takes, with the layer file that holds it.</summary>
    public IEnumerable<(string RelativePath, string Source)> Files(string directory, Func<string, bool> select)
    {
        var root = directory.TrimStart('/');
        var candidates = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var layer in topFirst)
        {
            var dir = Path.Combine(layer, root);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                candidates.Add(Path.GetRelativePath(dir, file).Replace('\\', '/'));
            }
        }

        foreach (var rel in candidates.Where(select))
        {
            if (Resolve($"{root}/{rel}") is { } source)
            {
                yield return (rel, source);
            }
        }
    }

    /// <summary>The layer file a container would see at <paramref name="relative"/>, or null when it is deleted or hidden.</summary>
    public string? Resolve(string relative)
    {
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var layer in topFirst)
        {
            var full = Path.Combine(layer, relative);
            // Path.Exists is false for a dangling symbolic link, which is still an entry of this layer.
            if (Path.Exists(full) || new FileInfo(full).LinkTarget is not null)
            {
                return IsWhiteout(full) ? null : full;
            }

            // A deleted or opaque ancestor in this layer hides everything below it.
            for (var i = parts.Length - 1; i > 0; i--)
            {
                var ancestor = Path.Combine(layer, string.Join('/', parts[..i]));
                if (IsWhiteout(ancestor) || (Directory.Exists(ancestor) && IsOpaque(ancestor)))
                {
                    return null;
                }
            }
        }

        return null;
    }

    private static bool IsWhiteout(string path)
    {
        try
        {
            var (mode, _, _, major, minor) = Libc.Lstat(path);
            return (mode & 0xf000) == Libc.SIfchr && major == 0 && minor == 0;
        }
        catch (Containers.IsolationException)
        {
            return false;
        }
    }

    private static bool IsOpaque(string directory)
    {
        var value = new byte[1];
        return Libc.lgetxattr(directory, "trusted.overlay.opaque", value, 1) == 1 && value[0] == (byte)'y';
    }
}
