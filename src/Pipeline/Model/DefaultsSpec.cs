namespace Ci.Pipeline.Model;

/// <summary>Values every job takes unless it sets its own.</summary>
public sealed record DefaultsSpec
{
    public TimeSpan? Timeout { get; internal set; }

    public RetrySpec? Retry { get; internal set; }

    public AllowFailureSpec? AllowFailure { get; internal set; }

    public Text? Workdir { get; internal set; }

    public Text? User { get; internal set; }

    public ShellSpec? Shell { get; internal set; }

    public NetworkMode? Network { get; internal set; }
}
