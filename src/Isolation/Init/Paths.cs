namespace Ci.Isolation.Init;

internal static class Paths
{
    /// <summary>
    /// A container path under the root directory, refusing "..": mount targets come from the
    /// runtime's spec, but a symlink in an image must not lead a mount out of the root.
    /// </summary>
    public static string InRoot(string root, string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = root.TrimEnd('/');
        foreach (var part in parts)
        {
            if (part is "." or "..")
            {
                throw new InitSpecException($"container path '{path}' may not contain '.' or '..'");
            }

            current = $"{current}/{part}";
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                var inContainer = current[root.TrimEnd('/').Length..];
                throw new InitSpecException($"cannot mount on '{path}': '{inContainer}' is a symbolic link in the container's file system (to '{info.LinkTarget}'); " +
                    "mount on a path without one");
            }
        }

        return current.Length == 0 ? "/" : current;
    }

    /// <summary>Creates the mount target: a directory for a directory source, an empty file for a file.</summary>
    public static void EnsureLike(string source, string target)
    {
        if (Directory.Exists(source))
        {
            Directory.CreateDirectory(target);
        }
        else if (!File.Exists(target))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            SmallFiles.WriteText(target, "");
        }
    }
}
