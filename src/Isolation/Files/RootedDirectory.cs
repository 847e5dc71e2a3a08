using Ci.Isolation.Native;
using Microsoft.Win32.SafeHandles;

namespace Ci.Isolation.Files;

/// <summary>
/// A directory tree that came from outside (an image layer, a checkout, what a container left, an
/// artifact, a cache), and the one way the runner touches files in it. Every operation starts from
/// a file descriptor of the root and walks one name at a time with *at(2) calls and O_NOFOLLOW:
/// a symbolic link or ".." on the way is refused (<see cref="UnsafePathException"/>), and a final
/// link is the link itself, never its target. Reads that must follow links as the tree means them
/// (a pipeline's include) go through openat2(2) with RESOLVE_BENEATH, so a link that leads out is
/// absent. No path string is joined and resolved again on the host, so nothing can be swapped in
/// between a check and its use. See docs/adr/0004-hostile-trees.md.
/// </summary>
/// <remarks>Not thread-safe for writes to the same names; reads may run concurrently.</remarks>
public sealed partial class RootedDirectory : IDisposable
{
    private const int MostDirectoriesKept = 256;

    private readonly SafeFileHandle _root;

    /// <summary>
    /// With <c>keepDirectoriesOpen</c>: the directories this tree walked to, by path, so that the next entry in the same
    /// directory costs one openat(2) and not one per name on the way (an unpacking writes thousands of entries into a few
    /// hundred directories). Each was reached by the same checked walk; removing a directory or moving an entry forgets
    /// them all. For trees the runner alone writes while it holds them open (an unpacking, a checkout, a squash).
    /// </summary>
    private readonly Dictionary<string, SafeFileHandle>? _directories;

    private RootedDirectory(SafeFileHandle root, string path, bool keepDirectoriesOpen)
    {
        _root = root;
        Path = path;
        _directories = keepDirectoriesOpen ? new Dictionary<string, SafeFileHandle>(StringComparer.Ordinal) : null;
    }

    /// <summary>Where the root is on the host, for messages.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens a tree whose root is <paramref name="path"/> (created when <paramref name="create"/>).
    /// The root path itself is the runner's own and trusted, but its last component must be a
    /// real directory, not a link. <paramref name="keepDirectoriesOpen"/>: for a tree the runner alone writes while it holds it.
    /// </summary>
    public static RootedDirectory Open(string path, bool create = false, bool keepDirectoriesOpen = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (create)
        {
            Directory.CreateDirectory(full);
        }

        var fd = Libc.openat(Libc.AtFdcwd, full, Libc.ORdonly | Libc.ODirectory | Libc.ONofollow | Libc.OCloexec, 0);
        if (fd < 0)
        {
            var errno = Libc.LastError;
            throw errno is Libc.Eloop or Libc.Enotdir
                ? new UnsafePathException(full, ".", "the root is not a directory (a symbolic link or a file)")
                : new Containers.IsolationException($"open({full}): {Libc.Describe(errno)}");
        }

        return new RootedDirectory(new SafeFileHandle(fd, ownsHandle: true), full, keepDirectoriesOpen);
    }

    public void Dispose()
    {
        ForgetDirectories();
        _root.Dispose();
    }

    /// <summary>Closes the directories kept open: after a directory was removed or an entry moved, a kept path may name another one.</summary>
    internal void ForgetDirectories()
    {
        if (_directories is null)
        {
            return;
        }

        lock (_directories)
        {
            foreach (var handle in _directories.Values)
            {
                handle.Dispose();
            }

            _directories.Clear();
        }
    }

    /// <summary>
    /// The names of a path inside the tree: "" and "." are dropped, a leading "/" means the root;
    /// ".", NUL and ".." that would climb are refused.
    /// </summary>
    internal string[] Split(string relative)
    {
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(parts.Length);
        foreach (var part in parts)
        {
            if (part == ".")
            {
                continue;
            }

            if (part == ".." || part.Contains('\0'))
            {
                throw new UnsafePathException(Path, relative, part == ".." ? "'..' may not appear in it" : "it holds a NUL byte");
            }

            kept.Add(part);
        }

        return [.. kept];
    }

    /// <summary>
    /// Opens the directory at <paramref name="names"/> (all of them), each a real directory. With
    /// <paramref name="create"/>, missing ones are made (0755) and, with <paramref name="replace"/>,
    /// a file or link in the way is removed first (a layer replacing a file by a directory);
    /// otherwise a link or file in the way is refused. Returns null when a name is missing and
    /// nothing is to be created. A link in the way is always refused.
    /// </summary>
    internal DirectoryLease? OpenDirectory(ReadOnlySpan<string> names, string relative, bool create, bool replace = false)
    {
        if (names.Length == 0)
        {
            return DirectoryLease.Borrow(_root);
        }

        if (_directories is null)
        {
            return Walk(_root, names, 0, relative, create, replace) is { } walked ? DirectoryLease.Own(walked) : null;
        }

        // The directory itself when it is kept (an unpacking's usual case: one key, no other string made); otherwise from the
        // deepest directory on the way that is.
        var key = string.Join('/', names);
        var start = names.Length;
        DirectoryLease from;
        lock (_directories)
        {
            if (_directories.TryGetValue(key, out var kept))
            {
                return DirectoryLease.Borrow(kept);
            }

            var at = _root;
            var prefix = key;
            while (--start > 0)
            {
                prefix = prefix[..prefix.LastIndexOf('/')];
                if (_directories.TryGetValue(prefix, out var ancestor))
                {
                    at = ancestor;
                    break;
                }
            }

            from = DirectoryLease.Borrow(at);
        }

        SafeFileHandle? opened;
        using (from)
        {
            opened = Walk(from.Handle, names, start, relative, create, replace);
        }

        if (opened is null)
        {
            return null;
        }

        lock (_directories)
        {
            if (_directories.Count >= MostDirectoriesKept)
            {
                ForgetDirectories();
            }

            if (_directories.TryAdd(key, opened))
            {
                return DirectoryLease.Borrow(opened);
            }
        }

        return DirectoryLease.Own(opened);
    }

    /// <summary>Opens names[start..] from <paramref name="from"/>, the directory at names[..start]; null when one is missing and nothing is to be created.</summary>
    private SafeFileHandle? Walk(SafeFileHandle from, ReadOnlySpan<string> names, int start, string relative, bool create, bool replace)
    {
        SafeFileHandle? current = null; // null: still at from
        try
        {
            for (var i = start; i < names.Length; i++)
            {
                var at = Fd(current ?? from);
                var name = names[i];
                var fd = Libc.openat(at, name, Libc.ORdonly | Libc.ODirectory | Libc.ONofollow | Libc.OCloexec, 0);
                if (fd < 0)
                {
                    var errno = Libc.LastError;
                    if (errno == Libc.Enoent && create)
                    {
                        Check(Libc.mkdirat(at, name, 0x1ed), "mkdir", relative, Libc.Eexist);
                        i--; // open it now (made by us, or by a concurrent writer of the same tree)
                        continue;
                    }

                    if (errno == Libc.Enoent)
                    {
                        return null;
                    }

                    if (errno is Libc.Eloop or Libc.Enotdir)
                    {
                        // A file in the way goes when asked; a link never does (a → /etc, then a/passwd is refused, not repaired).
                        if (create && replace && Libc.Fstatat(at, name, out _) is { IsDirectory: false, IsSymlink: false })
                        {
                            Check(Libc.unlinkat(at, name, 0), "unlink", relative);
                            i--;
                            continue;
                        }

                        var kind = Libc.Fstatat(at, name, out _) is { IsSymlink: true } ? "a symbolic link" : "not a directory";
                        throw new UnsafePathException(Path, relative, string.Join('/', names[..(i + 1)].ToArray()), kind);
                    }

                    throw Failure("open", relative, errno);
                }

                current?.Dispose();
                current = new SafeFileHandle(fd, ownsHandle: true);
            }

            var result = current ?? Duplicate(from);
            current = null;
            return result;
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>The directory that holds the last name of <paramref name="relative"/>, and that name.</summary>
    internal (DirectoryLease? Parent, string Name) OpenParent(string relative, bool create, bool replace = false)
    {
        var names = Split(relative);
        if (names.Length == 0)
        {
            throw new UnsafePathException(Path, relative, "it names the root itself");
        }

        return (OpenDirectory(names.AsSpan(0, names.Length - 1), relative, create, replace), names[^1]);
    }

    internal static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    internal static int Fd(DirectoryLease directory) => directory.Fd;

    private static SafeFileHandle Duplicate(SafeFileHandle handle)
    {
        var fd = Libc.openat(Fd(handle), ".", Libc.ORdonly | Libc.ODirectory | Libc.OCloexec, 0);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw new Containers.IsolationException($"reopen(.): {Libc.Describe(Libc.LastError)}");
    }

    internal void Check(int result, string operation, string relative, int tolerated = 0)
    {
        if (result != 0 && Libc.LastError is var errno && errno != tolerated)
        {
            throw Failure(operation, relative, errno);
        }
    }

    internal Exception Failure(string operation, string relative, int errno) => errno == Libc.Enospc
        ? new IOException($"{operation}({Path}/{relative}): no space left on the device", Libc.Enospc)
        : new Containers.IsolationException($"{operation}({Path}/{relative}): {Libc.Describe(errno)}");
}
