using System.Net;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Isolation.Tests.Registry;

/// <summary>Debian's docker-registry (the reference OCI registry, distribution 2.8) on a loopback port of its own, for one fixture.</summary>
public sealed class RegistryServer : IAsyncDisposable
{
    private readonly CommandTask<CommandResult> _process;
    private readonly CancellationTokenSource _stop;

    private RegistryServer(string storage, int port, CommandTask<CommandResult> process, CancellationTokenSource stop)
    {
        Storage = storage;
        Address = $"127.0.0.1:{port}";
        _process = process;
        _stop = stop;
    }

    public string Address { get; }

    public string Storage { get; }

    /// <param name="basic">With a user and password: the registry asks for them (HTTP Basic, an htpasswd file with a bcrypt hash).</param>
    public static async Task<RegistryServer> StartAsync(string directory, TokenServer? tokens = null, (string User, string Password)? basic = null)
    {
        if (!File.Exists("/usr/bin/docker-registry"))
        {
            Assert.Ignore("docker-registry is not installed (apt-get install docker-registry; .ci/run does)");
        }

        var port = Ci.Tests.Shared.LoopbackHttp.FreePort();

        var name = tokens is not null ? "registry-token" : basic is not null ? "registry-basic" : "registry";
        var storage = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        var config = Path.Combine(directory, name + ".yml");
        var auth = tokens is null ? "" : $"""

            auth:
              token:
                realm: {tokens.Realm}
                service: {TokenServer.Service}
                issuer: {TokenServer.Issuer}
                rootcertbundle: {tokens.CertificateBundle}
            """;
        if (basic is { } credentials)
        {
            var htpasswd = Path.Combine(directory, name + ".htpasswd");
            await File.WriteAllTextAsync(htpasswd, $"{credentials.User}:{Bcrypt.Hash(credentials.Password)}\n");
            auth = $"""

                auth:
                  htpasswd:
                    realm: test-realm
                    path: {htpasswd}
                """;
        }

        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {storage}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """ + auth.Replace("\n            ", "\n", StringComparison.Ordinal));
        var stop = new CancellationTokenSource();
        var log = new System.Text.StringBuilder();
        var process = Cli.Wrap("docker-registry").WithArguments(["serve", config]).WithValidation(CommandResultValidation.None)
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(log)).WithStandardOutputPipe(PipeTarget.ToStringBuilder(log))
            .ExecuteAsync(stop.Token);
        using var http = new HttpClient();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                var status = (await http.GetAsync($"http://127.0.0.1:{port}/v2/")).StatusCode;
                if (status is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return new RegistryServer(storage, port, process, stop);
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        await stop.CancelAsync();
        throw new InvalidOperationException($"docker-registry did not start: {log}");
    }

    /// <summary>Pushes an OCI layout's image with skopeo (the peer tool), as REPO:TAG.</summary>
    public async Task PushAsync(string layout, string layoutTag, string repositoryAndTag, string? credentials = null)
    {
        var result = await Cli.Wrap("skopeo")
            .WithArguments(["copy", "--quiet", "--dest-tls-verify=false", .. credentials is null ? Array.Empty<string>() : ["--dest-creds", credentials],
                $"oci:{layout}:{layoutTag}", $"docker://{Address}/{repositoryAndTag}"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
    }

    /// <summary>bcrypt through the system's libcrypt (libxcrypt), as htpasswd -B makes it; the registry accepts nothing else.</summary>
    private static class Bcrypt
    {
        [System.Runtime.InteropServices.DllImport("libcrypt.so.1", EntryPoint = "crypt")]
        private static extern IntPtr Crypt(string key, string setting);

        public static string Hash(string password)
        {
            const string Alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            var salt = new string(System.Security.Cryptography.RandomNumberGenerator.GetItems<char>(Alphabet, 22));
            return System.Runtime.InteropServices.Marshal.PtrToStringAnsi(Crypt(password, "$2b$05$" + salt))
                ?? throw new InvalidOperationException("libcrypt has no bcrypt");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _process;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
