using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Model;

public sealed record StepSpec
{
    public Text? Name { get; internal set; }

    public Text Run { get; internal set; }

    public IReadOnlyList<EnvEntry> Env { get; internal set; } = [];

    public TimeSpan? Timeout { get; internal set; }

    public RetrySpec? Retry { get; internal set; }

    public AllowFailureSpec? AllowFailure { get; internal set; }

    public Text? If { get; internal set; }

    public Text? Workdir { get; internal set; }

    public Text? User { get; internal set; }

    public ShellSpec? Shell { get; internal set; }

    /// <summary>The step's network when it is not the job's: <c>none</c> or <c>host</c> for this step alone, or <c>bridge</c> of its own.</summary>
    public NetworkMode? Network { get; internal set; }

    public ResourcesSpec? Resources { get; internal set; }

    /// <summary><c>cache: layer</c>: the step's filesystem result may be reused while its inputs are unchanged.</summary>
    public bool LayerCache { get; internal set; }

    public IReadOnlyList<Text> KeyFiles { get; internal set; } = [];

    public SourcePosition Position { get; internal set; }
}
