using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Ci.Isolation.Tests.Registry;

/// <summary>
/// A small token service for docker-registry's token auth (distribution's auth/token spec): it
/// issues RS256 JWTs carrying the x5c certificate the registry trusts, granting what was asked
/// for anonymous pulls of public repositories, and everything to a user with the right password.
/// It records the scopes requested, so tests can check what the client asked for.
/// </summary>
public sealed class TokenServer : IDisposable
{
    public const string Service = "test-registry";
    public const string Issuer = "test-token-issuer";

    private readonly Ci.Tests.Shared.LoopbackHttp _http;
    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;

    public TokenServer(string directory, string user, string password, Func<string, bool> isPublic)
    {
        User = user;
        Password = password;
        IsPublic = isPublic;
        var request = new CertificateRequest("CN=runner test token issuer", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        CertificateBundle = Path.Combine(directory, "token-issuer.pem");
        File.WriteAllText(CertificateBundle, _certificate.ExportCertificatePem());

        _http = new Ci.Tests.Shared.LoopbackHttp(ServeAsync);
        Realm = _http.BaseUrl + "token";
    }

    public string Realm { get; }

    public string CertificateBundle { get; }

    public string User { get; }

    public string Password { get; }

    private Func<string, bool> IsPublic { get; }

    public List<string> RequestedScopes { get; } = [];

    private async Task ServeAsync(HttpListenerContext context)
    {
        var scopes = context.Request.QueryString.GetValues("scope") ?? [];
        lock (RequestedScopes)
        {
            RequestedScopes.AddRange(scopes);
        }

        var authorised = context.Request.Headers["Authorization"] == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
        var access = new JsonArray();
        foreach (var scope in scopes)
        {
            var parts = scope.Split(':');
            if (parts.Length == 3 && parts[0] == "repository" && (authorised || IsPublic(parts[1])))
            {
                var actions = authorised ? parts[2].Split(',') : parts[2].Split(',').Where(a => a == "pull").ToArray();
                access.Add(new JsonObject { ["type"] = "repository", ["name"] = parts[1], ["actions"] = new JsonArray(actions.Select(a => (JsonNode)a).ToArray()) });
            }
        }

        var body = Encoding.UTF8.GetBytes(new JsonObject { ["token"] = Sign(authorised ? User : "", access), ["expires_in"] = 300 }.ToJsonString());
        context.Response.ContentType = "application/json";
        await context.Response.OutputStream.WriteAsync(body);
        context.Response.Close();
    }

    private string Sign(string subject, JsonArray access)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "RS256", ["x5c"] = new JsonArray(Convert.ToBase64String(_certificate.RawData)) };
        var claims = new JsonObject
        {
            ["iss"] = Issuer, ["sub"] = subject, ["aud"] = Service, ["exp"] = now + 300, ["nbf"] = now - 10, ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"), ["access"] = access,
        };
        var signingInput = B64(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + B64(signature);
    }

    public void Dispose()
    {
        _http.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        _certificate.Dispose();
        _key.Dispose();
    }
}
