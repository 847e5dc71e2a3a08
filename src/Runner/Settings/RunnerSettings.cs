namespace Ci.Runner.Settings;

/// <summary>
/// Every setting of the runner in one place: name, default and environment variable. Read once in
/// the composition root; nothing else reads the environment.
/// </summary>
public sealed record RunnerSettings
{
    public const string StateDirectoryVariable = "RUNNER_STATE_DIR";
    public const string InsecureRegistriesVariable = "RUNNER_INSECURE_REGISTRIES";

    /// <summary>Containers, layers, images and run records live here.</summary>
    public string StateDirectory { get; init; } = "/var/lib/runner";

    /// <summary>Registries (host[:port]) reached over plain HTTP besides loopback ones; comma-separated in the variable.</summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    public static RunnerSettings FromEnvironment() => new()
    {
        StateDirectory = Environment.GetEnvironmentVariable(StateDirectoryVariable) is { Length: > 0 } dir ? dir : "/var/lib/runner",
        InsecureRegistries = (Environment.GetEnvironmentVariable(InsecureRegistriesVariable) ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    };
}
