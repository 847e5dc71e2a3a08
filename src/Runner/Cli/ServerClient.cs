using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Ci.Runner.Cli;

/// <summary>
/// <c>runner runs --server URL</c> and <c>runner logs RUN --server URL</c>: the same views read
/// from a <c>runner serve</c>'s JSON API instead of this machine's records; a run still running
/// is followed through its event stream until it ends. The view token, when the server needs
/// one, comes from RUNNER_SERVER_TOKEN.
/// </summary>
internal static class ServerClient
{
    public static readonly Option<string> Server = new("--server")
    {
        Description = $"Read from a runner server (its URL) instead of this machine's records; a token it needs from {Settings.RunnerSettings.ServerTokenVariable}",
    };

    public static async Task<int> RunsAsync(string server, int limit, bool json, CancellationToken cancellationToken)
    {
        using var http = Client(server);
        if (await GetAsync(http, $"api/runs?limit={limit}", cancellationToken) is not { } text)
        {
            return ExitCodes.InternalError;
        }

        if (json)
        {
            Console.WriteLine(text);
            return ExitCodes.Ok;
        }

        var table = new Output.TextTable(["RUN", "QUEUED", "STATUS", "TIME", "REF", "COMMIT", "REPOSITORY"], 0, 3);
        foreach (var run in JsonDocument.Parse(text).RootElement.EnumerateArray())
        {
            var started = Time(run, "started");
            var finished = Time(run, "finished");
            var state = run.GetProperty("state").GetString();
            var reference = run.TryGetProperty("pullRequest", out var pr) ? $"PR {pr.GetInt32()}" : run.GetProperty("tag").GetString() is { Length: > 0 } tag ? $"tag {tag}" : run.GetProperty("branch").GetString();
            table.Add(run.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture),
                Time(run, "queued")!.Value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                state == "done" ? run.GetProperty("status").GetString()! : state!,
                started is { } s && finished is { } f ? Ci.Pipeline.Values.Units.FormatDuration(f - s) : "",
                Engine.TerminalText.Neutralise(reference ?? ""), run.GetProperty("commit").GetString()![..8], run.GetProperty("repository").GetString()!);
        }

        table.WriteTo(Console.Out);
        return ExitCodes.Ok;
    }

    public static async Task<int> LogsAsync(string server, string run, string? job, int? step, CancellationToken cancellationToken)
    {
        if (!long.TryParse(run, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            await Console.Error.WriteLineAsync($"runner: with --server, name the run by its number, not '{run}'");
            return ExitCodes.InvalidInput;
        }

        using var http = Client(server);
        if (await GetAsync(http, $"api/runs/{id}", cancellationToken) is not { } detail)
        {
            return ExitCodes.InvalidInput;
        }

        if (JsonDocument.Parse(detail).RootElement.GetProperty("live").GetBoolean())
        {
            return await FollowAsync(http, id, job, step, cancellationToken);
        }

        var query = (job is null ? "" : $"?job={Uri.EscapeDataString(job)}") + (step is { } n ? $"&step={n}" : "");
        if (await GetAsync(http, $"api/runs/{id}/logs{query}", cancellationToken) is not { } lines)
        {
            return ExitCodes.InternalError;
        }

        foreach (var line in JsonDocument.Parse(lines).RootElement.EnumerateArray())
        {
            Print(line.GetProperty("job").GetString()!, line.GetProperty("step").GetInt32(), line.GetProperty("isError").GetBoolean(), line.GetProperty("text").GetString()!);
        }

        return ExitCodes.Ok;
    }

    /// <summary>A running run: its output lines from the event stream, as they come, until it ends.</summary>
    private static async Task<int> FollowAsync(HttpClient http, long id, string? job, int? step, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"api/runs/{id}/events", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event: end", StringComparison.Ordinal))
            {
                break;
            }

            if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonDocument.Parse(line[6..]).RootElement is var e
                && e.GetProperty("type").GetString() == "output"
                && (job is null || e.GetProperty("job").GetString() == job) && (step is null || e.GetProperty("step").GetInt32() == step))
            {
                Print(e.GetProperty("job").GetString()!, e.GetProperty("step").GetInt32(), e.GetProperty("isError").GetBoolean(), e.GetProperty("line").GetString()!);
            }
        }

        return ExitCodes.Ok;
    }

    private static void Print(string job, int step, bool isError, string text) =>
        (isError ? Console.Error : Console.Out).WriteLine($"[{job}:{step}] {Engine.TerminalText.Neutralise(text)}");

    private static HttpClient Client(string server)
    {
        var http = new HttpClient { BaseAddress = new Uri(server.EndsWith('/') ? server : server + "/"), Timeout = Timeout.InfiniteTimeSpan };
        if (Settings.RunnerSettings.ServerToken() is { } token)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private static async Task<string?> GetAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(path, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return text;
            }

            var error = text.StartsWith('{') && JsonDocument.Parse(text).RootElement.TryGetProperty("error", out var e) ? e.GetString() : response.ReasonPhrase;
            await Console.Error.WriteLineAsync($"runner: {http.BaseAddress}{path}: {(int)response.StatusCode} {error}");
            return null;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"runner: cannot reach the server {http.BaseAddress}: {ex.Message}");
            return null;
        }
    }

    private static DateTimeOffset? Time(JsonElement run, string name) =>
        run.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetDateTimeOffset() : null;
}
