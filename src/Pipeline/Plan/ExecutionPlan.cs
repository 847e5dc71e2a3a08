namespace Ci.Pipeline.Plan;

/// <summary>
/// A compiled pipeline: what to run, in which order, with what. Backend-neutral: it names
/// images, commands, limits and cache inputs, never how a container is made. Jobs are in a
/// topological order of <see cref="PlannedJob.Needs"/>.
/// </summary>
public sealed record ExecutionPlan(
    string File,
    string? Name,
    TriggerContext Trigger,
    string? NotTriggeredReason,
    IReadOnlyList<PlannedJob> Jobs,
    IReadOnlyList<PlannedSecret> Secrets)
{
    public IEnumerable<string> SecretNames => Secrets.Select(s => s.Name);

    public bool IsTriggered => NotTriggeredReason is null;

    public PlannedJob? FindJob(string id) => Jobs.FirstOrDefault(j => j.Id == id);
}
