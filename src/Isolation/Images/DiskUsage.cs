using System.Globalization;

namespace Ci.Isolation.Images;

/// <summary>The bytes of the files under a directory (symbolic links not followed), as the store's clean-ups count them.</summary>
public static class DiskUsage
{
    public static long Of(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true })
            .Sum(f => f.Length);

    /// <summary>
    /// The size of the file system that holds <paramref name="path"/> and what is available on it
    /// (statfs(2) directly: DriveInfo costs milliseconds at first use, on every container start).
    /// </summary>
    public static (long Total, long Available) FileSystemOf(string path) =>
        Native.Libc.Statfs(path) is { } space ? space : throw new IOException($"statfs({path}): {Native.Libc.Describe(Native.Libc.LastError)}");

    /// <summary>
    /// For a directory that never changes once made (a layer, a checkout): measured once and kept
    /// beside it as DIR.size, so that later clean-ups do not walk it again.
    /// </summary>
    public static long OfImmutable(string directory)
    {
        var record = directory + ".size";
        if (File.Exists(record) && long.TryParse(File.ReadAllText(record), CultureInfo.InvariantCulture, out var known))
        {
            return known;
        }

        var size = Of(directory);
        File.WriteAllText(record, size.ToString(CultureInfo.InvariantCulture));
        return size;
    }

    /// <summary>Removes an immutable directory and its size record.</summary>
    public static void Remove(string directory)
    {
        Directory.Delete(directory, recursive: true);
        File.Delete(directory + ".size");
    }
}
