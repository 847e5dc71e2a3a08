namespace Ci.Isolation.Registry;

/// <summary>How the runner talks to registries.</summary>
public sealed record RegistryOptions
{
    /// <summary>Registries reached over plain HTTP. Loopback addresses always are; anything else only when listed here.</summary>
    public IReadOnlyList<string> Insecure { get; init; } = [];

    /// <summary>The Docker config file whose <c>auths</c> hold credentials (default ~/.docker/config.json).</summary>
    public string? DockerConfigPath { get; init; }

    public int Attempts { get; init; } = 4;

    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The pause before attempt <paramref name="attempt"/> + 1 (1-based): the first delay, doubled each time.</summary>
    public TimeSpan RetryDelay(int attempt) => FirstRetryDelay * (1 << Math.Clamp(attempt - 1, 0, 16));
}
