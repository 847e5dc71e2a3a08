using Ci.Pipeline.Model;

namespace Ci.Pipeline.Plan;

/// <summary>
/// What started a run: the event and the revision. <see cref="ChangedFiles"/> is null when the
/// changes are not known (a manual run, a new branch); path conditions then count as met.
/// </summary>
public sealed record TriggerContext
{
    public TriggerEvent Event { get; init; } = TriggerEvent.Push;

    public string Branch { get; init; } = "";

    public string Tag { get; init; } = "";

    public string Commit { get; init; } = "";

    public IReadOnlyList<string>? ChangedFiles { get; init; }

    /// <summary>Variables given on the command line or by the server (<c>--var K=V</c>), for <c>${{ }}</c> and <c>if:</c>.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>The secrets the runner holds values for; null when not checking (validate, plan).</summary>
    public SecretAvailability? AvailableSecrets { get; init; }
}
