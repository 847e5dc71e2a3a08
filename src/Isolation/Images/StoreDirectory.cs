namespace Ci.Isolation.Images;

/// <summary>How every store of the runner makes a directory appear whole or not at all.</summary>
public static class StoreDirectory
{
    /// <summary>
    /// Moves a directory filled under a temporary name to its final name in one rename. When
    /// another writer got there first (the same content, as names are keys), ours is deleted and
    /// theirs kept. Returns whether ours is the one in place.
    /// </summary>
    public static bool Publish(string temporary, string target)
    {
        try
        {
            Directory.Move(temporary, target);
            return true;
        }
        catch (IOException) when (Directory.Exists(target))
        {
            Directory.Delete(temporary, recursive: true);
            return false;
        }
    }

    /// <summary>
    /// Makes the state directory root's alone (0700), creating it if needed: layers keep setuid
    /// files and device nodes from images, and steps make more that caches keep; no other local
    /// user may reach them (podman's and containerd's stores are 0700 for the same reason).
    /// Containers are unaffected: overlayfs reaches its layers with the mounter's credentials.
    /// </summary>
    public static void MakePrivate(string stateDirectory)
    {
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var info = Directory.CreateDirectory(stateDirectory, Private);
        if ((info.UnixFileMode & ~Private) != 0 && Environment.IsPrivilegedProcess)
        {
            info.UnixFileMode = Private;
        }
    }
}
