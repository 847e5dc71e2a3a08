using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Model;

/// <summary>A pipeline file and the files it includes, merged: what the user wrote, not yet compiled.</summary>
public sealed record PipelineDocument
{
    public string File { get; internal set; } = "";

    public Text? Name { get; internal set; }

    public Text? Image { get; internal set; }

    public IReadOnlyList<EnvEntry> Env { get; internal set; } = [];

    public ResourcesSpec? Resources { get; internal set; }

    public DefaultsSpec Defaults { get; internal set; } = new();

    /// <summary>Null when the file has no <c>on:</c>: every event triggers it.</summary>
    public IReadOnlyDictionary<TriggerEvent, BranchFilter>? On { get; internal set; }

    public IReadOnlyList<SecretDecl> Secrets { get; internal set; } = [];

    public IReadOnlyList<Text> Includes { get; internal set; } = [];

    public IReadOnlyList<JobSpec> Jobs { get; internal set; } = [];

    public SourcePosition Position { get; internal set; }
}
