using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Ci.Runner.Tests.Sources;

/// <summary>
/// A real smart-HTTP git server for the tests: git's own http-backend (CGI) behind an
/// HttpListener on a loopback port, serving the repositories under a root directory, with HTTP
/// Basic authentication when given a user and password. It counts the requests it refused.
/// With <c>tls</c>, clients reach it over HTTPS only: a TLS front (SslStream, a self-signed
/// certificate for 127.0.0.1 written to <see cref="CertificateFile"/>) relays to the listener.
/// </summary>
internal sealed class GitHttpServer : IAsyncDisposable
{
    private readonly Ci.Tests.Shared.LoopbackHttp _http;
    private readonly string _root;
    private readonly (string User, string Password)? _account;
    private readonly TcpListener? _tls;
    private readonly Task? _tlsLoop;
    private int _refused;

    private GitHttpServer(string root, (string User, string Password)? account, string? certificateFile)
    {
        _root = root;
        _account = account;
        _http = new Ci.Tests.Shared.LoopbackHttp(ServeAsync);
        BaseUrl = _http.BaseUrl;
        if (certificateFile is not null)
        {
            var certificate = SelfSigned();
            File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
            CertificateFile = certificateFile;
            _tls = new TcpListener(IPAddress.Loopback, 0);
            _tls.Start();
            BaseUrl = $"https://127.0.0.1:{((IPEndPoint)_tls.LocalEndpoint).Port}/";
            _tlsLoop = Task.Run(() => RelayLoopAsync(_tls, certificate, _http.Port));
        }
    }

    /// <summary>http(s)://127.0.0.1:PORT/; a repository ROOT/NAME is at BaseUrl + NAME.</summary>
    public string BaseUrl { get; }

    /// <summary>With TLS: the server's certificate (PEM), which a client must trust (SSL_CERT_FILE).</summary>
    public string? CertificateFile { get; }

    /// <summary>Requests refused for want of the right credentials.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static GitHttpServer Start(string root, (string User, string Password)? account = null, string? tlsCertificateFile = null) =>
        new(root, account, tlsCertificateFile);

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Accepts TLS connections and relays each, decrypted, to the plain listener.</summary>
    private static async Task RelayLoopAsync(TcpListener tls, X509Certificate2 certificate, int plainPort)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await tls.AcceptTcpClientAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                using (var plain = new TcpClient())
                {
                    try
                    {
                        await using var secure = new SslStream(client.GetStream());
                        await secure.AuthenticateAsServerAsync(certificate);
                        await plain.ConnectAsync(IPAddress.Loopback, plainPort);
                        var backend = plain.GetStream();
                        await Task.WhenAny(secure.CopyToAsync(backend), backend.CopyToAsync(secure));
                    }
                    catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or SocketException)
                    {
                        // a client that refused our certificate, or hung up
                    }
                }
            });
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
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
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
        _tls?.Stop();
        if (_tlsLoop is not null)
        {
            await _tlsLoop;
        }

        await _http.DisposeAsync();
    }
}
