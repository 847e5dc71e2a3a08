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
}
