using System.Net;
using System.Net.Sockets;

namespace Ci.Tests.Shared;

/// <summary>
/// The test servers' plumbing: a free loopback port, and an HttpListener on it that hands each
/// request to a handler (concurrently) until disposed. The handler answers and closes the response.
/// </summary>
internal sealed class LoopbackHttp : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public LoopbackHttp(Func<HttpListenerContext, Task> handle)
    {
        BaseUrl = $"http://127.0.0.1:{FreePort()}/";
        _listener.Prefixes.Add(BaseUrl);
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => handle(context));
            }
        });
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string BaseUrl { get; }

    public int Port => new Uri(BaseUrl).Port;

    /// <summary>A loopback port nobody listens on now (for a server the test starts itself).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
