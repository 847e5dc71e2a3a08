using Ci.Isolation.Images;
using Ci.Isolation.Processes;
using Ci.Isolation.Registry;
using Ci.Runner.Backends.Containers;
using Ci.Runner.Engine;
using Ci.Runner.Engine.Records;
using Ci.Runner.Records;
using Ci.Runner.Settings;
using Ci.Runner.Sources;

namespace Ci.Runner;

/// <summary>
/// What one runner process builds from its settings, each made once and on first use, so that a
/// verb pays only for what it touches (<c>validate</c> reads no settings and opens no store): the
/// settings (read once), one HTTP client and one registry client (whose token cache then serves
/// every pull and push of the process), the image store, the run records, the artifact store, and
/// the engine (<see cref="Runs(Func{ImageReference, CancellationToken, Task{Image}})"/>) built on them.
/// <see cref="Program"/> makes one and hands it to the verbs; nothing else builds these.
/// </summary>
internal sealed class RunnerHost : IDisposable
{
    private readonly Lazy<RunnerSettings> _settings;
    private readonly Lazy<HttpClient> _http = new(() => new HttpClient { Timeout = TimeSpan.FromMinutes(30) });
    private readonly Lazy<RegistryClient> _registry;
    private readonly Lazy<ImageStore> _images;
    private readonly Lazy<RunStore> _records;
    private readonly Lazy<ArtifactStore> _artifacts;

    /// <param name="settings">The settings; default: read from the environment on first use.</param>
    public RunnerHost(Func<RunnerSettings>? settings = null)
    {
        _settings = new(() =>
        {
            var read = (settings ?? RunnerSettings.FromEnvironment)();
            NativeParts.UseStateDirectory(read.StateDirectory);
            return read;
        });
        _registry = new(() => new RegistryClient(_http.Value, new RegistryOptions { Insecure = Settings.InsecureRegistries }, Serilog.Log.Logger));
        _images = new(() => new ImageStore(Settings.StateDirectory, new LayerStore(Settings.StateDirectory) { Limits = Settings.UnpackLimits }));
        _records = new(() => RunStore.Open(Settings.StateDirectory, new RunnerIdentity(ProcessIdentity.Current.Token, ProcessIdentity.IsAliveToken)));
        _artifacts = new(() => ArtifactStore.Open(Settings.StateDirectory));
    }

    /// <summary>Throws <see cref="SettingsException"/> for a setting that cannot be read (on every use: Lazy keeps the exception).</summary>
    public RunnerSettings Settings => _settings.Value;

    public RegistryClient Registry => _registry.Value;

    public ImageStore Images => _images.Value;

    public RunStore Records => _records.Value;

    public ArtifactStore Artifacts => _artifacts.Value;

    /// <summary>
    /// The engine for this process's runs: git sources, the container backend and the records.
    /// <paramref name="pull"/> is the host's, because how a pull shows its progress is the host's (the CLI's bars, the server's events).
    /// </summary>
    public RunService Runs(Func<ImageReference, CancellationToken, Task<Image>> pull) => Runs(Backends(pull), Settings.GitCredentials);

    /// <summary>The engine on a backend the host keeps (a server's runs share one), fetching with these credentials.</summary>
    public RunService Runs(ContainerBackendFactory backends, (string? Username, string? Password) gitCredentials) =>
        new(new GitSources(Settings.StateDirectory, gitCredentials), backends, Records);

    public ContainerBackendFactory Backends(Func<ImageReference, CancellationToken, Task<Image>> pull) =>
        new(Settings.RuntimeOptions, Images, pull, Artifacts, Settings.StoreLimit);

    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }
}
