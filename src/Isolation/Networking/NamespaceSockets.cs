using System.Net;
using System.Net.Sockets;
using Ci.Isolation.Containers;
using Ci.Isolation.Native;

namespace Ci.Isolation.Networking;

/// <summary>
/// Connections made from inside a container's network namespace, for readiness checks: a socket
/// belongs to the namespace of the thread that creates it, so a short-lived thread of our own
/// joins the namespace (setns applies to the calling thread only), creates the socket and ends;
/// the connection itself is then made from any thread. The runner's other threads never change
/// namespace.
/// </summary>
public static class NamespaceSockets
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>A TCP connection to 127.0.0.1:<paramref name="port"/> of <paramref name="ns"/> (null: the host's own network).</summary>
    public static async Task<Socket> ConnectAsync(NetworkNamespace? ns, int port, CancellationToken cancellationToken)
    {
        var socket = ns is null ? NewSocket() : await CreateInAsync(ns.Path);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>An HTTP client whose every connection goes to 127.0.0.1 of <paramref name="ns"/>, at the URL's port (the Host header stays the URL's).</summary>
    public static HttpClient HttpClient(NetworkNamespace? ns, TimeSpan timeout) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        ConnectCallback = async (context, cancellationToken) =>
            new NetworkStream(await ConnectAsync(ns, context.DnsEndPoint.Port, cancellationToken), ownsSocket: true),
    })
    {
        Timeout = timeout,
    };

    private static Socket NewSocket() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    private static Task<Socket> CreateInAsync(string nsPath) => NamespaceThread.RunAsync("netns socket", () =>
    {
        var fd = Libc.openat(Libc.AtFdcwd, nsPath, Libc.ORdonly | Libc.OCloexec, 0);
        if (fd < 0)
        {
            throw new IsolationException($"open {nsPath}: {Libc.Describe(Libc.LastError)}");
        }

        try
        {
            if (Libc.setns(fd, CloneNewNet) != 0)
            {
                throw new IsolationException($"setns {nsPath}: {Libc.Describe(Libc.LastError)}");
            }
        }
        finally
        {
            Libc.close(fd);
        }

        return NewSocket(); // made in the namespace, which this thread's end leaves behind
    });
}
