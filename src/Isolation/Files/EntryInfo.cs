namespace Ci.Isolation.Files;

/// <summary>The kind of an entry in a tree, as lstat(2) tells it (links are never followed).</summary>
public enum EntryKind
{
    File,
    Directory,
    SymbolicLink,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// <summary>One entry of a tree: what it is, its owner, mode (permission and setuid/setgid/sticky bits), size and time.</summary>
public sealed record EntryInfo(EntryKind Kind, UnixFileMode Mode, uint Uid, uint Gid, long Size, DateTime ModifiedUtc, uint Major = 0, uint Minor = 0)
{
    /// <summary>An overlayfs whiteout: a 0/0 character device that hides what is below it.</summary>
    public bool IsWhiteout => Kind == EntryKind.CharacterDevice && Major == 0 && Minor == 0;

    internal static EntryInfo From(Native.FileStat stat) => new(
        stat.Type switch
        {
            Native.Libc.SIfdir => EntryKind.Directory,
            Native.Libc.SIfreg => EntryKind.File,
            Native.Libc.SIflnk => EntryKind.SymbolicLink,
            Native.Libc.SIfchr => EntryKind.CharacterDevice,
            Native.Libc.SIfblk => EntryKind.BlockDevice,
            Native.Libc.SIfifo => EntryKind.Fifo,
            _ => EntryKind.Socket,
        },
        (UnixFileMode)(stat.Mode & 0xfff), stat.Uid, stat.Gid, stat.Size,
        DateTime.UnixEpoch.AddSeconds(stat.ModifiedSeconds).AddTicks(stat.ModifiedNanoseconds / 100), stat.Major, stat.Minor);
}

/// <summary>Owner, mode, time and extended attributes to give an entry (a layer's tar header says them).</summary>
public sealed record EntryMetadata(uint Uid, uint Gid, UnixFileMode Mode, DateTime ModifiedUtc)
{
    public IReadOnlyList<(string Name, byte[] Value)> Xattrs { get; init; } = [];
}
