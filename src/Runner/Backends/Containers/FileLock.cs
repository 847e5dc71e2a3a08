namespace Ci.Runner.Backends.Containers;

/// <summary>
/// An exclusive lock across processes and threads on a file (flock, which .NET takes for
/// FileShare.None), waited for; released when the stream is disposed, or when its process dies.
/// </summary>
public static class FileLock
{
    /// <param name="what">What the lock guards, for the message when it is not free in time.</param>
    public static FileStream Acquire(string path, string what, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromMinutes(10));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10); // another run holds it
            }
            catch (IOException ex)
            {
                throw new IOException($"waited {(patience ?? TimeSpan.FromMinutes(10)).TotalMinutes:0} min for {what} ({path}), which another run still holds", ex);
            }
        }
    }
}
