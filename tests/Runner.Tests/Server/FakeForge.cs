using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace Ci.Runner.Tests.Server;

/// <summary>
/// A forge's commit status API for the tests: a real HTTP server on loopback that records every
/// request (method, path, auth header, JSON body) and answers as the forge does: 201 for a request
/// with the right token and a JSON body that has the fields its documentation requires, 401 for a
/// wrong token, 422 for a body that lacks them. It can be set to fail (503) to test retries.
/// </summary>
internal sealed class FakeForge : IAsyncDisposable
{
    private readonly Ci.Tests.Shared.LoopbackHttp _http;
    private readonly string _token;
    private readonly string _forge;
    private volatile int _failNext;

    public FakeForge(string forge, string token)
    {
        _forge = forge;
        _token = token;
        _http = new Ci.Tests.Shared.LoopbackHttp(HandleAsync);
    }

    public sealed record Request(string Method, string Path, string? Auth, JsonElement Body, int Answer);

    public ConcurrentQueue<Request> Requests { get; } = new();

    public string BaseUrl => _http.BaseUrl;

    /// <summary>The next <paramref name="count"/> requests get 503, as a forge that is down.</summary>
    public void FailNext(int count) => _failNext = count;

    /// <summary>The states posted for <paramref name="context"/>, in order (the accepted ones).</summary>
    public IReadOnlyList<string> States(string context, string key = "context") =>
        [.. Requests.Where(r => r.Answer == 201 && r.Body.TryGetProperty(key, out var c) && c.GetString() == context).Select(r => r.Body.GetProperty("state").GetString()!)];

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream);
        var text = await reader.ReadToEndAsync();
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            body = default;
        }

        var auth = _forge == "gitlab" ? context.Request.Headers["PRIVATE-TOKEN"] : context.Request.Headers["Authorization"];
        var expectedAuth = _forge switch { "github" => $"Bearer {_token}", "gitlab" => _token, _ => $"token {_token}" };
        var required = _forge == "gitlab" ? new[] { "state", "name", "target_url" } : ["state", "context", "target_url", "description"];
        int answer;
        if (Interlocked.Decrement(ref _failNext) >= 0)
        {
            answer = 503;
        }
        else if (auth != expectedAuth)
        {
            answer = 401;
        }
        else
        {
            answer = context.Request.HttpMethod == "POST" && context.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true
                && body.ValueKind == JsonValueKind.Object && required.All(k => body.TryGetProperty(k, out _)) ? 201 : 422;
        }

        Requests.Enqueue(new Request(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, auth, body, answer));
        context.Response.StatusCode = answer;
        context.Response.Close();
    }

    public ValueTask DisposeAsync() => _http.DisposeAsync();
}
