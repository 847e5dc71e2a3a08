using Ci.Isolation.Native;

namespace Ci.Isolation.Files;

/// <summary>
/// An exclusive lock across processes and threads on a lock file: flock(2), which .NET takes for
/// <see cref="FileShare.None"/>. Waited for with a pause that grows to 100 ms, up to a patience,
/// and cancellable; released when disposed, or when its process dies. A lock whose file was
/// removed or replaced while it was waited for is not the lock any more: the waiter checks that
/// the path still names the file it locked, and tries again otherwise. That makes removing the
/// file on release (<paramref name="removeOnRelease"/>, for locks named after things that come
/// and go) safe, where deleting a locked file would otherwise let two processes hold "the" lock.
/// </summary>
public sealed class FileLock : IDisposable
{
    private static readonly TimeSpan DefaultPatience = TimeSpan.FromMinutes(10);
    private readonly FileStream _stream;
    private readonly string _path;
    private readonly bool _removeOnRelease;

    private FileLock(FileStream stream, string path, bool removeOnRelease)
    {
        _stream = stream;
        _path = path;
        _removeOnRelease = removeOnRelease;
    }

    /// <param name="what">What the lock guards, for the message when it is not free in time.</param>
    /// <param name="patience">How long to wait (default 10 minutes); then <see cref="LockTimeoutException"/>.</param>
    public static async Task<FileLock> AcquireAsync(string path, string what, TimeSpan? patience = null, bool removeOnRelease = false,
        CancellationToken cancellationToken = default)
    {
        using var pauses = Pauses(patience ?? DefaultPatience, path, what).GetEnumerator();
        FileLock? held;
        while ((held = TryAcquire(path, removeOnRelease)) is null && pauses.MoveNext())
        {
            await Task.Delay(pauses.Current, cancellationToken);
        }

        return held!;
    }

    /// <summary>As <see cref="AcquireAsync"/>, blocking the calling thread: for code paths that are not asynchronous yet.</summary>
    public static FileLock Acquire(string path, string what, TimeSpan? patience = null, bool removeOnRelease = false, CancellationToken cancellationToken = default)
    {
        using var pauses = Pauses(patience ?? DefaultPatience, path, what).GetEnumerator();
        FileLock? held;
        while ((held = TryAcquire(path, removeOnRelease)) is null && pauses.MoveNext())
        {
            cancellationToken.WaitHandle.WaitOne(pauses.Current);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return held!;
    }

    public void Dispose()
    {
        if (_removeOnRelease)
        {
            File.Delete(_path); // while still held: a waiter that has the old file open sees it is gone and tries again
        }

        _stream.Dispose();
    }

    private static FileLock? TryAcquire(string path, bool removeOnRelease)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            return null; // held by another process or thread
        }

        var locked = Libc.Fstatat((int)stream.SafeFileHandle.DangerousGetHandle(), "", out _);
        var named = Libc.Fstatat(Libc.AtFdcwd, path, out _);
        if (locked is null || named is null || locked.Value.Inode != named.Value.Inode || locked.Value.Device != named.Value.Device)
        {
            stream.Dispose(); // the file was removed (or replaced) after we opened it: not the lock any more
            return null;
        }

        return new FileLock(stream, path, removeOnRelease);
    }

    /// <summary>The pauses between attempts, growing from 5 to 100 ms; past the patience, a <see cref="LockTimeoutException"/> instead of a pause.</summary>
    private static IEnumerable<TimeSpan> Pauses(TimeSpan patience, string path, string what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        for (var pause = TimeSpan.FromMilliseconds(5); ; pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks)))
        {
            if (waited.Elapsed + pause > patience)
            {
                throw new LockTimeoutException(
                    $"waited {(patience.TotalMinutes >= 1 ? $"{patience.TotalMinutes:0} min" : $"{patience.TotalSeconds:0} s")} for {what} ({path}), which another run still holds");
            }

            yield return pause;
        }
    }
}

/// <summary>A lock that was not free within its patience: another run holds it.</summary>
public sealed class LockTimeoutException(string message) : IOException(message);
