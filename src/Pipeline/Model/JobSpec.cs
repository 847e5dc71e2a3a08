using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Model;

public sealed record JobSpec
{
    public Text Name { get; internal set; }

    public Text? Image { get; internal set; }

    public IReadOnlyList<Text> Needs { get; internal set; } = [];

    public IReadOnlyList<StepSpec> Steps { get; internal set; } = [];

    public IReadOnlyList<EnvEntry> Env { get; internal set; } = [];

    public ResourcesSpec? Resources { get; internal set; }

    public TimeSpan? Timeout { get; internal set; }

    public RetrySpec? Retry { get; internal set; }

    public AllowFailureSpec? AllowFailure { get; internal set; }

    public WhenSpec? When { get; internal set; }

    public Text? If { get; internal set; }

    public MatrixSpec? Matrix { get; internal set; }

    public IReadOnlyList<ServiceSpec> Services { get; internal set; } = [];

    public IReadOnlyList<CacheSpec> Caches { get; internal set; } = [];

    public ArtifactsSpec? Artifacts { get; internal set; }

    public Text? Workdir { get; internal set; }

    public Text? User { get; internal set; }

    public ShellSpec? Shell { get; internal set; }

    public NetworkMode? Network { get; internal set; }

    public SourcePosition Position { get; internal set; }
}
