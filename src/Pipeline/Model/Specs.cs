using Ci.Pipeline.Diagnostics;

namespace Ci.Pipeline.Model;

// The user-facing model: what the file says, with positions, before defaults, matrix expansion
// and interpolation. Only the reader fills it; only the compiler reads it.

public sealed record EnvEntry(Text Name, Text Value);

public sealed record ResourcesSpec
{
    public int? MilliCpus { get; internal set; }

    public long? MemoryBytes { get; internal set; }

    public long? SwapBytes { get; internal set; }

    public int? Pids { get; internal set; }

    public SourcePosition Position { get; internal set; }

    /// <summary>This spec with unset values taken from <paramref name="outer"/>.</summary>
    public ResourcesSpec Over(ResourcesSpec? outer) => outer is null ? this : this with
    {
        MilliCpus = MilliCpus ?? outer.MilliCpus,
        MemoryBytes = MemoryBytes ?? outer.MemoryBytes,
        SwapBytes = SwapBytes ?? outer.SwapBytes,
        Pids = Pids ?? outer.Pids,
    };
}

public sealed record RetrySpec(int Max, IReadOnlyList<int> ExitCodes, TimeSpan Delay);

public sealed record AllowFailureSpec(bool Any, IReadOnlyList<int> ExitCodes)
{
    public static AllowFailureSpec No { get; } = new(false, []);
}

public sealed record ShellSpec(IReadOnlyList<string> Command, SourcePosition Position);

/// <summary>Structured conditions, all of which must hold. Absent lists do not constrain.</summary>
public sealed record WhenSpec
{
    public IReadOnlyList<Text>? Branches { get; internal set; }

    public IReadOnlyList<Text>? Tags { get; internal set; }

    public IReadOnlyList<TriggerEvent>? Events { get; internal set; }

    public IReadOnlyList<Text>? Changes { get; internal set; }

    public SourcePosition Position { get; internal set; }
}

public sealed record MatrixAxis(Text Name, IReadOnlyList<Text> Values);

public sealed record MatrixSpec(
    IReadOnlyList<MatrixAxis> Axes,
    IReadOnlyList<IReadOnlyList<(Text Name, Text Value)>> Include,
    IReadOnlyList<IReadOnlyList<(Text Name, Text Value)>> Exclude,
    SourcePosition Position);

public sealed record ReadinessSpec
{
    public IReadOnlyList<Text>? Command { get; internal set; }

    public int? TcpPort { get; internal set; }

    /// <summary>A URL that must answer 2xx; its host is the service's alias, <c>localhost</c> or 127.0.0.1.</summary>
    public Text? Http { get; internal set; }

    public TimeSpan Interval { get; internal set; } = TimeSpan.FromSeconds(1);

    public TimeSpan Timeout { get; internal set; } = TimeSpan.FromSeconds(60);

    public int Retries { get; internal set; } = 60;
}

public sealed record ServiceSpec
{
    public Text Image { get; internal set; }

    public Text? Alias { get; internal set; }

    public IReadOnlyList<EnvEntry> Env { get; internal set; } = [];

    public IReadOnlyList<Text>? Command { get; internal set; }

    public ReadinessSpec? Readiness { get; internal set; }

    public ResourcesSpec? Resources { get; internal set; }

    public SourcePosition Position { get; internal set; }
}

public sealed record CacheSpec
{
    public Text? KeyPrefix { get; internal set; }

    public IReadOnlyList<Text> KeyFiles { get; internal set; } = [];

    public IReadOnlyList<Text> Paths { get; internal set; } = [];

    public IReadOnlyList<Text> FallbackKeys { get; internal set; } = [];

    public CachePolicy Policy { get; internal set; } = CachePolicy.PullPush;

    public SourcePosition Position { get; internal set; }
}

public sealed record ArtifactsSpec
{
    public IReadOnlyList<Text> Paths { get; internal set; } = [];

    public TimeSpan ExpireIn { get; internal set; } = TimeSpan.FromDays(7);

    public ArtifactsWhen When { get; internal set; } = ArtifactsWhen.OnSuccess;

    public SourcePosition Position { get; internal set; }
}

public sealed record SecretDecl(Text Name, bool Optional, Text? FromEnv);

public sealed record BranchFilter(IReadOnlyList<Text>? Branches, IReadOnlyList<Text>? Tags, IReadOnlyList<Text>? Paths);
