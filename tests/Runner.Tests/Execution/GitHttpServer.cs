using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ci.Runner.Tests.Execution;

/// <summary>
/// A real smart-HTTP git server for the tests: git's own http-backend (CGI) behind an
/// HttpListener on a loopback port, serving the repositories under a root directory, with HTTP
/// Basic authentication when given a user and password. It counts the requests it refused.
/// </summary>
internal sealed class GitHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _root;
    private readonly (string User, string Password)? _account;
    private readonly Task _loop;
    private int _refused;

    private GitHttpServer(string root, (string User, string Password)? account)
    {
        _root = root;
        _account = account;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(BaseUrl);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>http://127.0.0.1:PORT/; a repository ROOT/NAME is at BaseUrl + NAME.</summary>
    public string BaseUrl { get; }

    /// <summary>Requests refused for want of the right credentials.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static GitHttpServer Start(string root, (string User, string Password)? account = null) => new(root, account);

    private async Task LoopAsync()
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

            _ = Task.Run(() => ServeAsync(context));
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            string? user = null;
            if (_account is { } account)
            {
                user = BasicUser(request.Headers["Authorization"], account);
                if (user is null)
                {
                    Interlocked.Increment(ref _refused);
                    response.StatusCode = 401;
                    response.AddHeader("WWW-Authenticate", "Basic realm=\"git\"");
                    return;
                }
            }

            await RunBackendAsync(request, response, user);
        }
        finally
        {
            response.Close();
        }
    }

    private static string? BasicUser(string? header, (string User, string Password) account)
    {
        if (header is null || !header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return null;
        }

        var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])).Split(':', 2);
        return pair.Length == 2 && pair[0] == account.User && pair[1] == account.Password ? pair[0] : null;
    }

    /// <summary>git http-backend as a CGI program: the request in its environment and stdin, the response (headers, blank line, body) on its stdout.</summary>
    private async Task RunBackendAsync(HttpListenerRequest request, HttpListenerResponse response, string? user)
    {
        var start = new ProcessStartInfo("git", "http-backend")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment["GIT_PROJECT_ROOT"] = _root;
        start.Environment["GIT_HTTP_EXPORT_ALL"] = "1";
        start.Environment["REQUEST_METHOD"] = request.HttpMethod;
        start.Environment["PATH_INFO"] = request.Url!.AbsolutePath;
        start.Environment["QUERY_STRING"] = request.Url.Query.TrimStart('?');
        start.Environment["CONTENT_TYPE"] = request.ContentType ?? "";
        start.Environment["REMOTE_ADDR"] = "127.0.0.1";
        start.Environment["REMOTE_USER"] = user ?? "";
        start.Environment["GIT_PROTOCOL"] = request.Headers["Git-Protocol"] ?? "";
        start.Environment["HTTP_CONTENT_ENCODING"] = request.Headers["Content-Encoding"] ?? "";
        if (request.ContentLength64 >= 0)
        {
            start.Environment["CONTENT_LENGTH"] = request.ContentLength64.ToString();
        }

        using var process = Process.Start(start)!;
        var feed = Task.Run(async () =>
        {
            await request.InputStream.CopyToAsync(process.StandardInput.BaseStream);
            process.StandardInput.Close();
        });
        var errors = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(output);
        await feed;
        await process.WaitForExitAsync();
        _ = await errors;

        var bytes = output.ToArray();
        var split = IndexOf(bytes, "\r\n\r\n"u8) is >= 0 and var crlf ? (crlf, 4) : (IndexOf(bytes, "\n\n"u8), 2);
        if (split.Item1 < 0)
        {
            response.StatusCode = 502;
            return;
        }

        foreach (var line in Encoding.ASCII.GetString(bytes, 0, split.Item1).Split('\n').Select(l => l.TrimEnd('\r')))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            var (name, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                response.StatusCode = int.Parse(value.Split(' ')[0]);
            }
            else if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                response.ContentType = value;
            }
            else if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                response.AddHeader(name, value);
            }
        }

        var body = bytes.AsMemory(split.Item1 + split.Item2);
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
