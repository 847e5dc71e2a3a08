using System.Text.Json;
using Ci.Pipeline.Model;
using Ci.Runner.Server.Config;
using Ci.Runner.Server.Hooks;
using Ci.Runner.Server.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ci.Runner.Server;

public sealed partial class RunnerServer
{
    private static readonly Dictionary<string, ForgeKind> HookPaths = new(StringComparer.Ordinal)
    {
        ["github"] = ForgeKind.GitHub, ["gitlab"] = ForgeKind.GitLab, ["gitea"] = ForgeKind.Gitea, ["forgejo"] = ForgeKind.Gitea,
    };

    private void MapHooks(IEndpointRouteBuilder app)
    {
        app.MapPost("/hooks/{forge}", (RequestDelegate)HandleHookAsync);
        app.MapGet("/healthz", context => context.Response.WriteAsync("ok\n"));
        app.MapGet("/metrics", (HttpContext context) =>
        {
            var (depth, oldest) = Queue.Waiting();
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(Metrics.Render(depth, oldest, Dispatcher.Running));
        });
    }

    /// <summary>
    /// One webhook: read whole (at most 25 MB), verified, written to the queue, and only then
    /// answered 2xx. Every refusal is a 4xx with the reason, counted and logged with the delivery
    /// id, never with the body.
    /// </summary>
    private async Task HandleHookAsync(HttpContext context)
    {
        var forgeName = (string)context.Request.RouteValues["forge"]!;
        var delivery = context.Request.Headers["X-GitHub-Delivery"].FirstOrDefault() ?? context.Request.Headers["X-Gitlab-Event-UUID"].FirstOrDefault()
            ?? context.Request.Headers["X-Gitea-Delivery"].FirstOrDefault() ?? context.Request.Headers["X-Forgejo-Delivery"].FirstOrDefault() ?? "-";
        try
        {
            if (!HookPaths.TryGetValue(forgeName, out var forge))
            {
                throw new HookRejectedException(404, "unknown_forge", $"there is no /hooks/{forgeName}: use /hooks/github, /hooks/gitlab or /hooks/gitea");
            }

            var body = await ReadBodyAsync(context);
            var (hook, repository) = Hooks.Read(forge, name => context.Request.Headers[name].FirstOrDefault(), context.Request.ContentType, body);
            Metrics.HookReceived(forgeName, hook.Action == HookAction.Ignore ? "ignored" : hook.Event.Name());
            switch (hook.Action)
            {
                case HookAction.Ignore:
                    _log.Information("Hook {Delivery} for {Repository}: {Note}", hook.DeliveryId, hook.Repository, hook.Note);
                    await AnswerAsync(context, 202, new ApiHookAnswer(Ignored: hook.Note));
                    return;
                case HookAction.CancelPullRequest:
                    var cancelled = Dispatcher.CancelGroup(repository, hook.ConcurrencyGroup, $"pull request {hook.PullRequest} was closed");
                    _log.Information("Hook {Delivery}: pull request {Number} of {Repository} closed; cancelled {Runs}", hook.DeliveryId, hook.PullRequest, hook.Repository, cancelled);
                    await AnswerAsync(context, 202, new ApiHookAnswer(Cancelled: cancelled));
                    return;
                default:
                    var enqueued = await Dispatcher.AcceptAsync(hook, repository);
                    _log.Information("Hook {Delivery}: {Event} of {Repository} at {Commit} is run {Run}{Duplicate}", hook.DeliveryId, hook.Event, hook.Repository,
                        hook.Commit[..12], enqueued.Run.Id, enqueued.Created ? "" : " (a redelivery)");
                    await AnswerAsync(context, enqueued.Created ? 201 : 200,
                        new ApiHookAnswer(enqueued.Run.Id, Executor.RunPage(enqueued.Run.Id).AbsoluteUri, !enqueued.Created));
                    return;
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            // Not stored, so not accepted: the forge (or a person with "Redeliver") must send it again.
            Metrics.HookRejected("not_stored");
            _log.Error(ex, "Could not store hook {Delivery} in the queue", Clip(delivery));
            context.Response.Headers.RetryAfter = "10";
            await AnswerAsync(context, 503, new ApiHookAnswer(Error: $"the server could not store the hook ({ex.SqliteErrorCode}); send it again"));
        }
        catch (HookRejectedException ex)
        {
            Metrics.HookRejected(ex.Reason);
            _log.Warning("Refused hook {Delivery} at /hooks/{Forge}: {Reason}: {Message}", Clip(delivery), Clip(forgeName), ex.Reason, ex.Message);
            await AnswerAsync(context, ex.Status, new ApiHookAnswer(Error: ex.Message));
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > HookReader.MaxBodyBytes)
        {
            throw new HookRejectedException(413, "too_large", $"the body is {context.Request.ContentLength} bytes; a hook may be at most {HookReader.MaxBodyBytes}");
        }

        using var buffer = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == 413)
        {
            throw new HookRejectedException(413, "too_large", $"the body is larger than {HookReader.MaxBodyBytes} bytes, the most a hook may be");
        }

        return buffer.ToArray();
    }

    private static Task AnswerAsync(HttpContext context, int status, ApiHookAnswer answer)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(answer, ServerJson.Default.ApiHookAnswer));
    }

    private static string Clip(string text) => text.Length > 80 ? text[..80] : text.ReplaceLineEndings(" ");
}
