using Ci.Isolation.Native;

namespace Ci.Isolation.Containers;

/// <summary>
/// A network namespace that outlives its containers: made once (a new namespace costs
/// milliseconds and is serialized in the kernel), joined by every container given it, removed
/// on dispose. It lives as an nsfs bind mount on a file in the runtime's state directory; the
/// runtime removes those a dead runner left. A bridged one also has an address with egress
/// (<see cref="Address"/>), released on dispose.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private readonly Func<Task>? _detach;

    private NetworkNamespace(string path, string? address, IReadOnlyList<string> nameservers, Func<Task>? detach)
    {
        Path = path;
        Address = address;
        Nameservers = nameservers;
        _detach = detach;
    }

    /// <summary>The namespace file (an nsfs mount).</summary>
    public string Path { get; }

    /// <summary>Its IPv4 address on the host's routed network; null with loopback only.</summary>
    public string? Address { get; }

    /// <summary>The name servers its containers use (the host's that it can reach); none with loopback only.</summary>
    public IReadOnlyList<string> Nameservers { get; }

    /// <summary>
    /// Makes a namespace and bind-mounts it on a new file, so it lives on with no process in it (as
    /// <c>ip netns add</c> does). A network namespace belongs to a thread: a short-lived thread of our
    /// own unshares one and mounts it; no other thread of the runner changes namespace.
    /// </summary>
    internal static async Task<string> CreateFileAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, Random.Shared.NextInt64(1L << 40).ToString("x10"));
        await File.WriteAllBytesAsync(path, [], cancellationToken);
        try
        {
            await Networking.NamespaceThread.RunAsync("netns create", () =>
            {
                const int CloneNewNet = 0x40000000;
                return Libc.unshare(CloneNewNet) == 0 && Libc.BindMount("/proc/thread-self/ns/net", path) == 0
                    ? true // the mount holds the namespace
                    : throw new IsolationException($"cannot create a network namespace at {path}: {Libc.Describe(Libc.LastError)}");
            });
        }
        catch
        {
            File.Delete(path);
            throw;
        }

        return path;
    }

    internal static NetworkNamespace LoopbackOnly(string path) => new(path, null, [], null);

    internal static NetworkNamespace Bridged(string path, string address, IReadOnlyList<string> nameservers, Func<Task> detach) =>
        new(path, address, nameservers, detach);

    /// <summary>Unmounts and deletes a namespace file; the kernel frees the namespace when its last user is gone.</summary>
    internal static void Remove(string path)
    {
        _ = Libc.umount2(path, Libc.MntDetach);
        File.Delete(path);
    }

    /// <summary>
    /// Removes the namespace, then releases a bridged one's attachment. In that order: with the namespace
    /// gone the kernel removes the veth pair and the host's route to it, and CNI's DEL (which the
    /// specification requires to work without the namespace) has only the lease and the port rules left
    /// to release, in about half the time. A release that fails keeps its record, and the next runner
    /// start releases it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Remove(Path);
        if (_detach is not null)
        {
            await _detach();
        }
    }
}
