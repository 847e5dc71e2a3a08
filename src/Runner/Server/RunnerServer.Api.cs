using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ci.Runner.Server.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ci.Runner.Server;

public sealed partial class RunnerServer
{
    private void MapApi(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs", context => Viewer(context, () =>
        {
            var limit = int.TryParse(context.Request.Query["limit"], out var n) ? Math.Clamp(n, 1, 500) : 50;
            var repository = context.Request.Query["repository"].FirstOrDefault();
            return Json(context, 200, JsonSerializer.Serialize(Queue.List(limit, repository).Select(ApiRun.From).ToList(), ServerJson.Default.ListApiRun));
        }));
        app.MapGet("/api/runs/{id:long}", context => Viewer(context, () =>
            Detail(Id(context)) is { } detail ? Json(context, 200, JsonSerializer.Serialize(detail, ServerJson.Default.ApiRunDetail)) : NotFound(context, Id(context))));
        app.MapGet("/api/runs/{id:long}/logs", context => Viewer(context, () =>
        {
            var id = Id(context);
            if (Queue.Find(id)?.RunId is not { } record)
            {
                return NotFound(context, id);
            }

            var job = context.Request.Query["job"].FirstOrDefault();
            var step = int.TryParse(context.Request.Query["step"], out var s) ? s : (int?)null;
            var lines = Records.Logs(record, job, step).Select(l => new ApiLogLine(l.Job, l.Step, l.IsError, l.Time, l.Text)).ToList();
            return Json(context, 200, JsonSerializer.Serialize(lines, ServerJson.Default.ListApiLogLine));
        }));
        app.MapGet("/api/runs/{id:long}/artifacts/{job}/{**path}", context => Viewer(context, () => DownloadAsync(context, Id(context))));
        app.MapGet("/api/runs/{id:long}/events", context => Viewer(context, () => StreamEventsAsync(context, Id(context))));
        app.MapPost("/api/runs/{id:long}/cancel", context => Admin(context, () =>
            Dispatcher.Cancel(Id(context), "by an admin (the server's page or API)")
                ? Json(context, 202, "{\"cancelled\":true}")
                : Json(context, 409, "{\"error\":\"the run is not queued or running\"}")));
        app.MapPost("/api/runs/{id:long}/rerun", context => Admin(context, async () =>
        {
            if (await Dispatcher.RerunAsync(Id(context)) is { } run)
            {
                await Json(context, 201, JsonSerializer.Serialize(new ApiHookAnswer(run.Id, Executor.RunPage(run.Id).AbsoluteUri), ServerJson.Default.ApiHookAnswer));
            }
            else
            {
                await NotFound(context, Id(context));
            }
        }));
    }

    /// <summary>The {id:long} of the route (its constraint made sure it is one).</summary>
    private static long Id(HttpContext context) => long.Parse((string)context.Request.RouteValues["id"]!, System.Globalization.CultureInfo.InvariantCulture);

    private ApiRunDetail? Detail(long id)
    {
        if (Queue.Find(id) is not { } run)
        {
            return null;
        }

        var jobs = new List<ApiJob>();
        if (run.RunId is { } record)
        {
            var steps = Records.Steps(record);
            jobs.AddRange(Records.Jobs(record).Select(j => new ApiJob(j.Job, j.Status, j.Reason, [.. steps.Where(s => s.Job == j.Job)])));
        }

        var artifacts = run.RunId is { } r
            ? Artifacts.List(r).Where(f => f.LinkTarget is null)
                .Select(f => new ApiArtifact(f.Job, f.Path, f.Size, $"/api/runs/{id}/artifacts/{Uri.EscapeDataString(f.Job)}/{string.Join('/', f.Path.Split('/').Select(Uri.EscapeDataString))}")).ToList()
            : [];
        return new ApiRunDetail(ApiRun.From(run), run.Jobs, jobs, artifacts, Live.IsLive(id));
    }

    /// <summary>One artifact file, as a download: only files its job kept, read without following links.</summary>
    private async Task DownloadAsync(HttpContext context, long id)
    {
        var job = (string)context.Request.RouteValues["job"]!;
        var path = (string?)context.Request.RouteValues["path"] ?? "";
        if (Queue.Find(id)?.RunId is not { } record || Artifacts.OpenRead(record, job, path) is not var (stream, file))
        {
            await Json(context, 404, "{\"error\":\"there is no such artifact\"}");
            return;
        }

        await using (stream)
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = file.Size;
            context.Response.Headers.ContentDisposition = new System.Net.Mime.ContentDisposition { FileName = Path.GetFileName(file.Path) }.ToString();
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    /// <summary>
    /// Server-Sent Events: each event of the run as one JSON line (the shapes of <c>runner exec
    /// --json</c>, masked), from its start, live while it runs; then an <c>end</c> event. A queued
    /// run is waited for; a run that has ended sends only <c>end</c>: its record has the rest.
    /// </summary>
    private async Task StreamEventsAsync(HttpContext context, long id)
    {
        if (Queue.Find(id) is null)
        {
            await NotFound(context, id);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not hold the stream back
        // A queued run is waited for: a viewer who opens its page before it starts sees it start.
        var events = Live.Follow(id, context.RequestAborted);
        while (events is null && Queue.Find(id) is { State: not Engine.Queue.QueueState.Done } && !context.RequestAborted.IsCancellationRequested)
        {
            await context.Response.WriteAsync(": waiting\n\n", context.RequestAborted); // a comment line: keeps proxies from timing out
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(250, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            events = Live.Follow(id, context.RequestAborted);
        }

        if (events is not null)
        {
            try
            {
                await foreach (var json in events.ReadAllAsync(context.RequestAborted))
                {
                    await context.Response.WriteAsync($"data: {json}\n\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
                return; // the viewer left
            }
        }

        await context.Response.WriteAsync("event: end\ndata: {}\n\n", context.RequestAborted);
    }

    /// <summary>Viewing: anyone, or with view: token, whoever gives the view or admin token (header, or the cookie the login page sets).</summary>
    private Task Viewer(HttpContext context, Func<Task> then)
    {
        if (_config.View == Config.ViewAccess.Public || Holds(context, _config.ViewToken) || Holds(context, _config.AdminToken))
        {
            return then();
        }

        return Json(context, 401, "{\"error\":\"viewing runs needs the view token (Authorization: Bearer TOKEN)\"}");
    }

    /// <summary>
    /// Cancel and re-run: the admin token in the Authorization header, never a cookie, so that
    /// another site cannot make a visitor's browser send it (a cross-site form sends cookies, not
    /// headers); and a request whose Origin is another site is refused outright.
    /// </summary>
    private Task Admin(HttpContext context, Func<Task> then)
    {
        if (context.Request.Headers.Origin.FirstOrDefault() is { } origin
            && (!Uri.TryCreate(origin, UriKind.Absolute, out var from) || !string.Equals(from.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)))
        {
            return Json(context, 403, "{\"error\":\"a request from another site\"}");
        }

        if (_config.AdminToken is null)
        {
            return Json(context, 403, "{\"error\":\"the server has no admin_token: nobody may cancel or re-run\"}");
        }

        var header = context.Request.Headers.Authorization.FirstOrDefault();
        return header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) && Same(header["Bearer ".Length..], _config.AdminToken.Value)
            ? then()
            : Json(context, 401, "{\"error\":\"cancel and re-run need the admin token (Authorization: Bearer TOKEN)\"}");
    }

    private static bool Holds(HttpContext context, Config.ConfigSecret? token)
    {
        if (token is null)
        {
            return false;
        }

        var header = context.Request.Headers.Authorization.FirstOrDefault();
        var given = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..]
            : context.Request.Cookies["runner_token"];
        return given is not null && Same(given, token.Value);
    }

    private static bool Same(string given, string secret) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static Task Json(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(json);
    }

    private static Task NotFound(HttpContext context, long id) => Json(context, 404, $"{{\"error\":\"there is no run {id}\"}}");
}
