using CliWrap;
using Ci.Isolation.Native;

namespace Ci.Isolation.Containers;

/// <summary>
/// A network namespace that outlives its containers: made once (a new namespace costs
/// milliseconds and is serialized in the kernel), joined by every container given it, removed
/// on dispose. It lives as an nsfs bind mount on a file in the runtime's state directory; the
/// runtime removes those a dead runner left.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string path) => Path = path;

    /// <summary>The namespace file (an nsfs mount).</summary>
    public string Path { get; }

    internal static async Task<NetworkNamespace> CreateAsync(string directory, string unshare, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, Random.Shared.NextInt64(1L << 40).ToString("x10"));
        await File.WriteAllBytesAsync(path, [], cancellationToken);
        try
        {
            // `unshare --net=FILE` makes the namespace and bind-mounts it on FILE, so it lives on after unshare exits.
            await Cli.Wrap(unshare).WithArguments(["--net=" + path, "true"]).ExecuteAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is CliWrap.Exceptions.CommandExecutionException or OperationCanceledException)
        {
            File.Delete(path);
            throw new IsolationException($"cannot create a network namespace at {path}: {ex.Message}", ex);
        }

        return new NetworkNamespace(path);
    }

    /// <summary>Unmounts and deletes a namespace file; the kernel frees the namespace when its last user is gone.</summary>
    internal static void Remove(string path)
    {
        _ = Libc.umount2(path, Libc.MntDetach);
        File.Delete(path);
    }

    public ValueTask DisposeAsync()
    {
        Remove(Path);
        return ValueTask.CompletedTask;
    }
}
