using System.Text.Json.Serialization;
using Ci.Pipeline.Model;
using Ci.Runner.Engine.Queue;

namespace Ci.Runner.Server.Web;

/// <summary>A run as the API lists it: its trigger, where it stands, and its page.</summary>
public sealed record ApiRun(long Id, string Repository, string Event, string Branch, string Tag, int? PullRequest, string Commit, string Title,
    string Author, string State, string? Status, string? Note, int Attempt, DateTimeOffset Queued, DateTimeOffset? Started, DateTimeOffset? Finished,
    IReadOnlyList<long> Records, bool Untrusted)
{
    public static ApiRun From(QueuedRun run) => new(run.Id, run.Ticket.Repository, run.Ticket.Event.Name(), run.Ticket.Branch, run.Ticket.Tag, run.Ticket.PullRequest, run.Ticket.Commit, run.Ticket.Title, run.Ticket.Author,
        run.State.ToString().ToLowerInvariant(), run.Status, run.Note, run.Attempt, run.Queued, run.Started, run.Finished, run.RunIds, run.Ticket.Untrusted);
}

/// <summary>One run with its jobs and steps as recorded (after it ends; while it runs, its events say more).</summary>
/// <param name="Graph">The jobs as planned, with what each needs: the graph the page draws.</param>
public sealed record ApiRunDetail(ApiRun Run, IReadOnlyList<Engine.PlannedJobView> Graph, IReadOnlyList<ApiJob> Jobs, IReadOnlyList<ApiArtifact> Artifacts, bool Live);

public sealed record ApiArtifact(string Job, string Path, long Size, string Url);

public sealed record ApiJob(string Id, string Status, string? Reason, IReadOnlyList<Engine.Records.StepRecord> Steps);

public sealed record ApiLogLine(string Job, int Step, bool IsError, DateTimeOffset Time, string Text);

/// <summary>What a hook's answer says.</summary>
public sealed record ApiHookAnswer(long? Run = null, string? Url = null, bool? Duplicate = null, string? Ignored = null,
    IReadOnlyList<long>? Cancelled = null, string? Error = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<ApiRun>))]
[JsonSerializable(typeof(ApiRunDetail))]
[JsonSerializable(typeof(List<ApiLogLine>))]
[JsonSerializable(typeof(ApiHookAnswer))]
internal sealed partial class ServerJson : JsonSerializerContext;
