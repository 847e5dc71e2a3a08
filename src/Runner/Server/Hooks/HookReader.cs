using System.Text;
using System.Text.Json;
using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Hooks;

/// <summary>
/// Turns a webhook request into a <see cref="HookEvent"/> for one configured repository, or
/// refuses it with a <see cref="HookRejectedException"/> (a 4xx and a reason, never a 500): no
/// event header, a body that is not JSON, a repository the server does not serve or that has no
/// secret, a signature that does not match, an event it does not run for. Knows no HTTP stack:
/// the endpoint hands it the headers and the raw body.
/// </summary>
public sealed class HookReader(IReadOnlyList<RepositoryConfig> repositories, TimeProvider time)
{
    /// <summary>GitHub's own cap on a payload; a bigger body is not a forge's.</summary>
    public const int MaxBodyBytes = 25 * 1024 * 1024;

    private static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 64 };

    public (HookEvent Event, RepositoryConfig Repository) Read(ForgeKind forge, Func<string, string?> header, string? contentType, byte[] body)
    {
        var (eventHeader, deliveryHeader) = forge switch
        {
            ForgeKind.GitHub => ("X-GitHub-Event", "X-GitHub-Delivery"),
            ForgeKind.GitLab => ("X-Gitlab-Event", "X-Gitlab-Event-UUID"),
            _ => (header("X-Gitea-Event") is null && header("X-Forgejo-Event") is not null ? "X-Forgejo-Event" : "X-Gitea-Event",
                header("X-Gitea-Delivery") is null && header("X-Forgejo-Delivery") is not null ? "X-Forgejo-Delivery" : "X-Gitea-Delivery"),
        };
        var eventName = header(eventHeader)
            ?? throw new HookRejectedException(400, "no_event", $"no {eventHeader} header: this is not a {forge} webhook (is the URL /hooks/{forge.ToString().ToLowerInvariant()} the forge's?)");
        // A forge that sends no delivery id (GitLab before 15) gets one: such hooks cannot be told apart when redelivered.
        var delivery = header(deliveryHeader) ?? header("Idempotency-Key") ?? header("webhook-id") ?? Guid.NewGuid().ToString();
        if (delivery.Length > 200)
        {
            throw new HookRejectedException(400, "malformed", $"{deliveryHeader} is longer than 200 characters");
        }

        var json = Json(contentType, body, forge);
        using var document = Parse(json, eventName);
        var payload = new Payload(document.RootElement, eventName);
        var name = forge switch
        {
            ForgeKind.GitHub => GitHubHooks.Repository(payload),
            ForgeKind.GitLab => GitLabHooks.Repository(payload),
            _ => GiteaHooks.Repository(payload),
        };
        var repository = repositories.FirstOrDefault(r => r.Forge == forge && string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new HookRejectedException(404, "unknown_repository", $"this server runs no {forge} repository '{name}'");
        if (repository.WebhookSecret is not { } secret)
        {
            throw new HookRejectedException(401, "no_secret", $"{repository.Name} has no webhook_secret in the server's configuration: it accepts no hooks");
        }

        if (HookSignatures.Verify(forge, header, body, secret.Value, time.GetUtcNow()) is { } wrong)
        {
            throw new HookRejectedException(401, "bad_signature", wrong);
        }

        var hook = forge switch
        {
            ForgeKind.GitHub => GitHubHooks.Parse(forge, eventName, delivery, payload),
            ForgeKind.GitLab => GitLabHooks.Parse(eventName, delivery, payload),
            _ => GiteaHooks.Parse(eventName, delivery, payload),
        };
        if (hook.Action == HookAction.Run && !IsCommit(hook.Commit))
        {
            throw new HookRejectedException(400, "malformed", $"the {eventName} payload's commit '{Clip(hook.Commit)}' is not a commit id");
        }

        return (hook with { Repository = repository.Name }, repository);
    }

    /// <summary>The JSON text: the body, or GitHub's form-encoded payload= field.</summary>
    private static byte[] Json(string? contentType, byte[] body, ForgeKind forge)
    {
        var media = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (media == "application/json")
        {
            return body;
        }

        if (media == "application/x-www-form-urlencoded" && forge == ForgeKind.GitHub)
        {
            foreach (var pair in Encoding.ASCII.GetString(body).Split('&'))
            {
                if (pair.StartsWith("payload=", StringComparison.Ordinal))
                {
                    return Encoding.UTF8.GetBytes(Uri.UnescapeDataString(pair["payload=".Length..].Replace('+', ' ')));
                }
            }

            throw new HookRejectedException(400, "malformed", "a form-encoded hook without a payload= field");
        }

        throw new HookRejectedException(415, "content_type", $"the content type is '{(media.Length == 0 ? "none" : media)}'; set the webhook to send application/json");
    }

    private static JsonDocument Parse(byte[] json, string eventName)
    {
        try
        {
            var document = JsonDocument.Parse(json, JsonLimits);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document
                : throw new HookRejectedException(400, "malformed", $"the {eventName} payload is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new HookRejectedException(400, "malformed", $"the {eventName} payload is not JSON: {ex.Message}");
        }
    }

    private static bool IsCommit(string id) => id.Length is 40 or 64 && id.All(char.IsAsciiHexDigitLower);

    private static string Clip(string s) => s.Length > 80 ? s[..80] + "…" : s;
}
