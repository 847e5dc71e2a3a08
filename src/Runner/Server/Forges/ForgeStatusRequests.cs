using System.Net.Http.Headers;
using System.Text.Json;
using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Forges;

/// <summary>
/// The HTTP request each forge's commit status API documents: GitHub <c>POST
/// /repos/{owner}/{repo}/statuses/{sha}</c> (Bearer token; pending, success, failure, error),
/// GitLab <c>POST /projects/{id}/statuses/{sha}</c> (PRIVATE-TOKEN; pending, running, success,
/// failed, canceled), Gitea and Forgejo <c>POST /repos/{owner}/{repo}/statuses/{sha}</c> (token;
/// GitHub's states).
/// </summary>
public static class ForgeStatusRequests
{
    /// <summary>GitHub refuses a description over 140 characters.</summary>
    private const int MaxDescription = 140;

    public static HttpRequestMessage Create(CommitStatus status)
    {
        var repo = status.Repository;
        var config = repo.Status ?? throw new InvalidOperationException($"{repo.Name} has no status: configuration");
        var api = config.ApiUrl.AbsoluteUri.TrimEnd('/');
        var description = status.Description.Length > MaxDescription ? status.Description[..(MaxDescription - 1)] + "…" : status.Description;
        var (path, body) = repo.Forge switch
        {
            ForgeKind.GitLab => ($"{api}/projects/{Uri.EscapeDataString(repo.Name)}/statuses/{status.Commit}", Json(w =>
            {
                w.WriteString("state", status.State switch
                {
                    CommitState.Pending => "pending", CommitState.Running => "running", CommitState.Success => "success",
                    CommitState.Cancelled => "canceled", _ => "failed",
                });
                w.WriteString("name", status.Context);
                w.WriteString("target_url", status.Target.AbsoluteUri);
                w.WriteString("description", description);
            })),
            _ => ($"{api}/repos/{repo.Name}/statuses/{status.Commit}", Json(w =>
            {
                w.WriteString("state", status.State switch
                {
                    CommitState.Pending or CommitState.Running => "pending", CommitState.Success => "success",
                    CommitState.Failure => "failure", _ => "error",
                });
                w.WriteString("target_url", status.Target.AbsoluteUri);
                w.WriteString("description", description);
                w.WriteString("context", status.Context);
            })),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("runner", "1.0"));
        switch (repo.Forge)
        {
            case ForgeKind.GitHub:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", config.Token.Value);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
                request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
                break;
            case ForgeKind.GitLab:
                request.Headers.Add("PRIVATE-TOKEN", config.Token.Value);
                break;
            default:
                request.Headers.Authorization = new AuthenticationHeaderValue("token", config.Token.Value);
                break;
        }

        return request;
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
