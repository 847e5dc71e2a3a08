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

    private const string TemporaryMark = ".tmp-";

    /// <summary>Where the stores write temporaries, relative to the state directory: the start-up clean-up and prune sweep them.</summary>
    public static IReadOnlyList<string> AbandonedTemporaryPlaces { get; } = ["", "l", "b/sha256", "i", "checkouts", "tmp"];

    /// <summary>
    /// A temporary name beside <paramref name="path"/> that says which process writes it
    /// (PATH.tmp-PID-RANDOM), so that the start-up clean-up can tell an abandoned one from a live one.
    /// </summary>
    public static string TemporaryName(string path) => $"{path}{TemporaryMark}{Processes.ProcessIdentity.Current.Token}-{Random.Shared.NextInt64(1L << 40):x10}";

    /// <summary>A temporary entry inside <paramref name="directory"/> (DIRECTORY/.tmp-PID-RANDOM).</summary>
    public static string TemporaryIn(string directory, string prefix = "") => TemporaryName(Path.Combine(directory, prefix));

    /// <summary>
    /// Removes the temporaries in <paramref name="directory"/> that no live process writes: those
    /// of a runner that was killed, or that ran out of space, and older ones without a process id
    /// once they are an hour old. Returns how many went.
    /// </summary>
    public static int RemoveAbandoned(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        var removed = 0;
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            var mark = entry.Name.IndexOf(TemporaryMark, StringComparison.Ordinal);
            if (mark < 0)
            {
                continue;
            }

            var owner = entry.Name[(mark + TemporaryMark.Length)..].Split('-')[0];
            var abandoned = Processes.ProcessIdentity.TryParse(owner, out var writer)
                ? !writer.IsCurrent && !writer.IsAlive
                : entry.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1);
            if (!abandoned)
            {
                continue;
            }

            try
            {
                if (entry is DirectoryInfo { LinkTarget: null } dir)
                {
                    dir.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }

                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or still busy: the next clean-up tries again.
            }
        }

        return removed;
    }
}
