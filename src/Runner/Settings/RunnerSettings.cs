namespace Ci.Runner.Settings;

/// <summary>
/// Every setting of the runner in one place: name, default and environment variable. Read once in
/// the composition root; nothing else reads the environment.
/// </summary>
public sealed record RunnerSettings
{
    public const string StateDirectoryVariable = "RUNNER_STATE_DIR";

    /// <summary>Containers, layers, images and run records live here.</summary>
    public string StateDirectory { get; init; } = "/var/lib/runner";

    public static RunnerSettings FromEnvironment() => new()
    {
        StateDirectory = Environment.GetEnvironmentVariable(StateDirectoryVariable) is { Length: > 0 } dir ? dir : "/var/lib/runner",
    };
}
