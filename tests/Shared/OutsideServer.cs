using CliWrap;
using CliWrap.Buffered;

namespace Ci.Tests.Shared;

/// <summary>
/// An HTTP server "on the internet" without the internet: busybox httpd in a network namespace of
/// its own, joined to the host by a veth pair on a /30 of 198.18.0.0/15 (the benchmarking range),
/// so a job reaches it only through the host's routing and NAT. The namespace has no route back to
/// the jobs' subnet: an answer arrives only if the job's packets were masqueraded. It also holds a
/// link-local "metadata" address (one of 169.254.0.0/16, as 169.254.169.254 is on clouds), routed to it by the host, which the guard must
/// keep jobs away from.
/// </summary>
public sealed class OutsideServer : IAsyncDisposable
{
    private readonly string _name;
    private readonly CancellationTokenSource _stop = new();
    private Task? _server;

    private OutsideServer(string name, string address, string hostSide, string metadataAddress)
    {
        _name = name;
        Address = address;
        HostSide = hostSide;
        MetadataAddress = metadataAddress;
    }

    /// <summary>A link-local address the server also answers on (its own per server, so that servers of concurrent tests never share a route).</summary>
    public string MetadataAddress { get; }

    /// <summary>
    /// The server's address (port 80 serves <c>/index.html</c>: "hello from outside"). Debian's static busybox
    /// wget crashes (SIGSEGV, static NSS) in a root without libc: fetch with <see cref="HttpGet"/>.
    /// </summary>
    public string Address { get; }

    /// <summary>The host's end of the link.</summary>
    public string HostSide { get; }

    public static async Task<OutsideServer> StartAsync(string webRoot, CancellationToken cancellationToken)
    {
        var n = Random.Shared.Next(1, 1 << 14);
        var name = $"rt-out-{n:x}";
        var (host, outside) = ($"198.{18 + (n >> 12)}.{(n >> 4) & 0xff}.{((n & 0xf) << 2) + 1}", $"198.{18 + (n >> 12)}.{(n >> 4) & 0xff}.{((n & 0xf) << 2) + 2}");
        var server = new OutsideServer(name, outside, host, $"169.254.{1 + (n >> 8)}.{1 + (n & 0xfe)}");
        Directory.CreateDirectory(webRoot);
        await File.WriteAllTextAsync(Path.Combine(webRoot, "index.html"), "hello from outside\n", cancellationToken);
        try
        {
            await IpAsync(cancellationToken, "netns", "add", name);
            await IpAsync(cancellationToken, "link", "add", $"vo-{n:x}", "type", "veth", "peer", "name", $"vi-{n:x}");
            await IpAsync(cancellationToken, "link", "set", $"vi-{n:x}", "netns", name);
            await IpAsync(cancellationToken, "addr", "add", host + "/30", "dev", $"vo-{n:x}");
            await IpAsync(cancellationToken, "link", "set", $"vo-{n:x}", "up");
            await IpAsync(cancellationToken, "-n", name, "addr", "add", outside + "/30", "dev", $"vi-{n:x}");
            await IpAsync(cancellationToken, "-n", name, "addr", "add", server.MetadataAddress + "/32", "dev", "lo");
            await IpAsync(cancellationToken, "-n", name, "link", "set", $"vi-{n:x}", "up");
            await IpAsync(cancellationToken, "-n", name, "link", "set", "lo", "up");
            await IpAsync(cancellationToken, "route", "replace", server.MetadataAddress + "/32", "via", outside);
            server._server = Cli.Wrap("ip").WithArguments(["netns", "exec", name, "/bin/busybox", "httpd", "-f", "-p", "80", "-h", webRoot])
                .WithValidation(CommandResultValidation.None).ExecuteAsync(CancellationToken.None, server._stop.Token);
            for (var i = 0; i < 100; i++)
            {
                try
                {
                    using var probe = new System.Net.Sockets.TcpClient();
                    await probe.ConnectAsync(System.Net.IPAddress.Parse(outside), 80, cancellationToken);
                    return server;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // not listening yet
                }

                await Task.Delay(50, cancellationToken);
            }

            throw new InvalidOperationException("the outside server did not start");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A shell command that prints the body of a one-line HTTP answer from ADDRESS:PORT, with busybox nc.</summary>
    public static string HttpGet(string address, int port = 80) =>
        $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} {port} | tail -n 1";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_server is not null)
        {
            try
            {
                await _server;
            }
            catch (OperationCanceledException)
            {
                // stopped, as asked
            }
        }

        await Cli.Wrap("ip").WithArguments(["route", "del", MetadataAddress + "/32", "via", Address]).WithValidation(CommandResultValidation.None).ExecuteAsync();
        await Cli.Wrap("ip").WithArguments(["netns", "del", _name]).WithValidation(CommandResultValidation.None).ExecuteAsync(); // the veth pair goes with it
        _stop.Dispose();
    }

    private static async Task IpAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await Cli.Wrap("ip").WithArguments(arguments).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)}: {result.StandardError.Trim()}");
        }
    }
}
