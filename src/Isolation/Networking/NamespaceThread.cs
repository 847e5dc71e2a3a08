namespace Ci.Isolation.Networking;

/// <summary>
/// Work that must change the calling thread's network namespace (setns, unshare): done on a
/// short-lived thread of its own, which ends in that namespace, so that no other thread of the
/// runner ever changes namespace.
/// </summary>
internal static class NamespaceThread
{
    public static Task<T> RunAsync<T>(string name, Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
