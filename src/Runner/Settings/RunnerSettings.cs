namespace Ci.Runner.Settings;

/// <summary>
/// Every setting of the runner in one place: name, default and environment variable. Read once in
/// the composition root; nothing else reads the environment.
/// </summary>
public sealed record RunnerSettings
{
    public const string StateDirectoryVariable = "RUNNER_STATE_DIR";
    public const string InsecureRegistriesVariable = "RUNNER_INSECURE_REGISTRIES";
    public const string CgroupParentVariable = "RUNNER_CGROUP_PARENT";
    public const string GitUsernameVariable = "RUNNER_GIT_USERNAME";
    public const string GitPasswordVariable = "RUNNER_GIT_PASSWORD";

    /// <summary>Containers, layers, images and run records live here.</summary>
    public string StateDirectory { get; init; } = "/var/lib/runner";

    /// <summary>Registries (host[:port]) reached over plain HTTP besides loopback ones; comma-separated in the variable.</summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>The parent cgroup of this runner's containers (default "runner").</summary>
    public string CgroupParent { get; init; } = "runner";

    /// <summary>For fetching sources over https: a user and a password or token (never printed).</summary>
    public (string? Username, string? Password) GitCredentials { get; init; }

    /// <summary>The container runtime's options under these settings.</summary>
    public Ci.Isolation.Containers.RuntimeOptions RuntimeOptions => new() { StateDirectory = StateDirectory, CgroupParent = CgroupParent };

    public static RunnerSettings FromEnvironment() => new()
    {
        StateDirectory = Environment.GetEnvironmentVariable(StateDirectoryVariable) is { Length: > 0 } dir ? dir : "/var/lib/runner",
        CgroupParent = Environment.GetEnvironmentVariable(CgroupParentVariable) is { Length: > 0 } parent ? parent : "runner",
        GitCredentials = (Environment.GetEnvironmentVariable(GitUsernameVariable), Environment.GetEnvironmentVariable(GitPasswordVariable)),
        InsecureRegistries = (Environment.GetEnvironmentVariable(InsecureRegistriesVariable) ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    };
}
