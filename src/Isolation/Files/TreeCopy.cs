namespace Ci.Isolation.Files;

/// <summary>
/// Copies entries from one tree to another without following anything on the host: a file's
/// bytes, a symbolic link as a link (its text unchanged), a directory as a directory. Devices,
/// fifos, sockets and whiteouts are not copied (a host path must never gain a usable device or a
/// reader that blocks), and setuid/setgid bits are dropped: what leaves a container is data.
/// </summary>
public static class TreeCopy
{
    /// <summary>Copies one entry (not a directory's contents); false when it is of a kind that is not copied, or absent.</summary>
    public static bool CopyEntry(RootedDirectory from, string fromPath, RootedDirectory to, string toPath)
    {
        var info = from.Stat(fromPath);
        switch (info?.Kind)
        {
            case EntryKind.File:
                using (var source = from.OpenRead(fromPath))
                {
                    if (source is null)
                    {
                        return false;
                    }

                    using var target = to.CreateFile(toPath, info.Mode & (UnixFileMode)0x1ff, replace: true);
                    source.CopyTo(target);
                }

                return true;
            case EntryKind.SymbolicLink:
                to.CreateSymbolicLink(toPath, from.ReadLink(fromPath), replace: true);
                return true;
            case EntryKind.Directory:
                if (to.Stat(toPath) is not { Kind: EntryKind.Directory })
                {
                    to.Remove(toPath);
                }

                to.CreateDirectory(toPath);
                return true;
            default:
                return false;
        }
    }
}
