using Ci.Isolation.Files;

namespace Ci.Isolation.Images;

/// <summary>
/// Applies layer directories (overlayfs upper directories) onto another, oldest first, so that
/// the one stands for them all on top of the same stack below: a whiteout stays a whiteout (the
/// stack below may hold the name), an opaque directory clears what the target had there and stays
/// opaque, anything else replaces what the target had. Entries are moved, not copied (the layers
/// are used up and must be on the target's file system); nothing is followed, through
/// <see cref="RootedDirectory"/>. A job's steps stack this way (each step's upper directory is
/// a layer of the next), and overlayfs takes at most a page of options and 500 layers.
/// </summary>
public static class LayerSquasher
{
    private const string Opaque = "trusted.overlay.opaque";
    private const string Redirect = "trusted.overlay.redirect";

    /// <exception cref="Containers.IsolationException">A layer holds a renamed directory (overlayfs' redirect_dir), which only the mount can resolve.</exception>
    public static void ApplyOnto(string target, IReadOnlyList<string> oldestFirst)
    {
        using var into = RootedDirectory.Open(target, create: true, keepDirectoriesOpen: true);
        foreach (var layer in oldestFirst)
        {
            using var from = RootedDirectory.Open(layer);
            foreach (var (path, info) in from.Walk())
            {
                if (info.Kind == EntryKind.Directory)
                {
                    ApplyDirectory(from, into, path, info);
                }
                else if (info.IsWhiteout)
                {
                    into.CreateWhiteout(path);
                }
                else
                {
                    from.MoveTo(path, into, path);
                }
            }
        }
    }

    private static void ApplyDirectory(RootedDirectory from, RootedDirectory into, string path, EntryInfo info)
    {
        if (from.GetDirectoryXattr(path, Redirect) is not null)
        {
            throw new Containers.IsolationException($"cannot squash {from.Path}: /{path} is a directory renamed by overlayfs' redirect_dir, " +
                "which only the mount resolves; turn it off (/sys/module/overlay/parameters/redirect_dir = N, Debian's default), " +
                "or keep the job under 16 uncached steps");
        }

        var opaque = from.GetDirectoryXattr(path, Opaque) is [(byte)'y'];
        if (opaque || into.Stat(path) is not { Kind: EntryKind.Directory })
        {
            into.Remove(path); // an opaque directory hides everything below it, this target's part of it included
        }

        into.CreateDirectory(path);
        // The newer layer's directory carries the merged directory's owner, mode and time; an opaque mark is kept once set.
        into.SetMetadata(path, new EntryMetadata(info.Uid, info.Gid, info.Mode, info.ModifiedUtc)
        {
            Xattrs = opaque ? [(Opaque, "y"u8.ToArray())] : [],
        });
    }
}
