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
    public const string StoreLimitVariable = "RUNNER_STORE_LIMIT";
    public const string GitUsernameVariable = "RUNNER_GIT_USERNAME";
    public const string GitPasswordVariable = "RUNNER_GIT_PASSWORD";
    public const string LayerLimitVariable = Ci.Isolation.Images.UnpackLimits.MaxBytesVariable;
    public const string WritableLimitVariable = "RUNNER_WRITABLE_LIMIT";
    public const string NetworkSubnetVariable = "RUNNER_NETWORK_SUBNET";
    public const string NetworkAllowVariable = "RUNNER_NETWORK_ALLOW";
    public const string ServerTokenVariable = "RUNNER_SERVER_TOKEN";

    /// <summary>
    /// The token <c>runner runs/logs --server</c> give a server that needs one to view runs
    /// (RUNNER_SERVER_TOKEN); read alone, without the settings of a runner that runs containers.
    /// </summary>
    public static string? ServerToken() => Environment.GetEnvironmentVariable(ServerTokenVariable) is { Length: > 0 } token ? token : null;

    /// <summary>Containers, layers, images and run records live here.</summary>
    public string StateDirectory { get; init; } = "/var/lib/runner";

    /// <summary>Registries (host[:port]) reached over plain HTTP besides loopback ones; comma-separated in the variable.</summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>The parent cgroup of this runner's containers (default "runner").</summary>
    public string CgroupParent { get; init; } = "runner";

    /// <summary>
    /// The automatic clean-up's limit on what the state directory stores (images, cached layers,
    /// checkouts), in bytes; null: no automatic clean-up ("off"). Default: a fifth of the file
    /// system that holds the state directory.
    /// </summary>
    public long? StoreLimit { get; init; }

    /// <summary>For fetching sources over https: a user and a password or token (never printed).</summary>
    public (string? Username, string? Password) GitCredentials { get; init; }

    /// <summary>What one image layer may unpack to (default 16 GiB); a layer past it is refused.</summary>
    public Ci.Isolation.Images.UnpackLimits UnpackLimits { get; init; } = Ci.Isolation.Images.UnpackLimits.Default;

    /// <summary>
    /// What one container (a step) may write into its writable layer, in bytes; null: no limit
    /// ("off"). Default: a fifth of the file system that holds the state directory, so that a
    /// step cannot fill the disk the store and the host share.
    /// </summary>
    public long? WritableLimit { get; init; }

    /// <summary>
    /// Bridged job networks: their subnet (RUNNER_NETWORK_SUBNET, default 10.213.0.0/16) and the addresses a job may
    /// reach beyond egress (RUNNER_NETWORK_ALLOW, comma-separated CIDRs: the host's own, link-local metadata, other jobs).
    /// The runner's configuration decides this, never a pipeline.
    /// </summary>
    public Ci.Isolation.Networking.NetworkOptions Network { get; init; } = new();

    /// <summary>The container runtime's options under these settings.</summary>
    public Ci.Isolation.Containers.RuntimeOptions RuntimeOptions => new()
    {
        StateDirectory = StateDirectory, CgroupParent = CgroupParent, WritableLimitBytes = WritableLimit, Network = Network,
    };

    /// <summary>RUNNER_STATE_DIR, or its default.</summary>
    public static string StateDirectoryFromEnvironment() =>
        Environment.GetEnvironmentVariable(StateDirectoryVariable) is { Length: > 0 } dir ? dir : "/var/lib/runner";

    public static RunnerSettings FromEnvironment()
    {
        var state = StateDirectoryFromEnvironment();
        if (Environment.IsPrivilegedProcess)
        {
            // Before anything is stored in it: setuid files and devices from images must be out of other users' reach.
            Ci.Isolation.Images.StoreDirectory.MakePrivate(state);
        }

        var fifth = new Lazy<long>(() => FifthOfFileSystem(state)); // the default of both size limits: one statfs
        return new RunnerSettings
        {
            StateDirectory = state,
            CgroupParent = Environment.GetEnvironmentVariable(CgroupParentVariable) is { Length: > 0 } parent ? parent : "runner",
            GitCredentials = (Environment.GetEnvironmentVariable(GitUsernameVariable), Environment.GetEnvironmentVariable(GitPasswordVariable)),
            InsecureRegistries = (Environment.GetEnvironmentVariable(InsecureRegistriesVariable) ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            StoreLimit = SizeOrFifth(StoreLimitVariable, Environment.GetEnvironmentVariable(StoreLimitVariable), fifth),
            WritableLimit = SizeOrFifth(WritableLimitVariable, Environment.GetEnvironmentVariable(WritableLimitVariable), fifth),
            UnpackLimits = LayerLimitFrom(Environment.GetEnvironmentVariable(LayerLimitVariable)),
            Network = NetworkFrom(Environment.GetEnvironmentVariable(NetworkSubnetVariable), Environment.GetEnvironmentVariable(NetworkAllowVariable)),
        };
    }

    private static Ci.Isolation.Networking.NetworkOptions NetworkFrom(string? subnet, string? allow)
    {
        var options = new Ci.Isolation.Networking.NetworkOptions();
        if (subnet is { Length: > 0 })
        {
            options = options with { Subnet = Cidr(NetworkSubnetVariable, subnet) };
        }

        return options with { Allow = (allow ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(a => Cidr(NetworkAllowVariable, a)).ToList() };
    }

    /// <summary>An IPv4 network (ADDRESS/BITS, or one address); the setting's name and the value in the error otherwise.</summary>
    private static string Cidr(string variable, string text) =>
        System.Net.IPNetwork.TryParse(text.Contains('/', StringComparison.Ordinal) ? text : text + "/32", out var network)
            && network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? network.ToString()
            : throw new SettingsException($"{variable}: '{text}' is not an IPv4 address or network such as 192.0.2.10 or 10.0.0.0/8");

    private static Ci.Isolation.Images.UnpackLimits LayerLimitFrom(string? text)
    {
        if (text is not { Length: > 0 })
        {
            return Ci.Isolation.Images.UnpackLimits.Default;
        }

        return Ci.Pipeline.Values.Units.TryParseSize(text, out var bytes, out var error) && bytes > 0
            ? Ci.Isolation.Images.UnpackLimits.Default with { MaxBytes = bytes }
            : throw new SettingsException($"{LayerLimitVariable}: {error ?? "it must be more than 0"} (a size such as 32Gi)");
    }

    /// <summary>A size setting: a size, 'off' (null), or by default a fifth of the file system that holds the state directory.</summary>
    private static long? SizeOrFifth(string variable, string? text, Lazy<long> fifth)
    {
        if (text is "off")
        {
            return null;
        }

        if (text is { Length: > 0 })
        {
            return Ci.Pipeline.Values.Units.TryParseSize(text, out var bytes, out var error)
                ? bytes
                : throw new SettingsException($"{variable}: {error} (a size such as 20Gi, or 'off')");
        }

        return fifth.Value;
    }

    private static long FifthOfFileSystem(string state)
    {
        var existing = state;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }

        return Ci.Isolation.Images.DiskUsage.FileSystemOf(existing).Total / 5;
    }
}

/// <summary>A setting of the environment that cannot be used; the message names the variable and what it takes.</summary>
public sealed class SettingsException(string message) : Exception(message);
