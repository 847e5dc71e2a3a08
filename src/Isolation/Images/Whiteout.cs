using Ci.Isolation.Native;

namespace Ci.Isolation.Images;

/// <summary>A deletion in a layer, in overlayfs form: a 0/0 character device where the file was.</summary>
public static class Whiteout
{
    /// <summary>Marks <paramref name="path"/> (inside a layer directory) as deleted; needs CAP_MKNOD.</summary>
    public static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Libc.Check(Libc.mknod(path, Libc.SIfchr, 0), $"mknod(whiteout {path})");
    }
}
