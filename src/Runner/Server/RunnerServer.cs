using System.Net;
using System.Security.Cryptography.X509Certificates;
using Ci.Runner.Engine.Queue;
using Ci.Runner.Server.Config;
using Ci.Runner.Server.Dispatch;
using Ci.Runner.Server.Forges;
using Ci.Runner.Server.Hooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ILogger = Serilog.ILogger;

namespace Ci.Runner.Server;

/// <summary>
/// <c>runner serve</c>'s composition root: the queue, the dispatcher on the engine, the commit
/// statuses, the metrics, and the web server (Kestrel) with the hooks, the API, the pages,
/// /healthz and /metrics. Built only by the serve verb, so no other verb loads the web stack.
/// </summary>
public sealed partial class RunnerServer : IAsyncDisposable
{
    private readonly ServerConfig _config;
    private readonly WebApplication _app;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ILogger _log;

    /// <param name="pull">Pulls an image a run needs that is not in the store (the host's: how a pull is shown is its own).</param>
    internal RunnerServer(ServerConfig config, RunnerHost host, Func<Ci.Isolation.Images.ImageReference, CancellationToken, Task<Ci.Isolation.Images.Image>> pull,
        ILogger log, TimeProvider? time = null)
    {
        _config = config;
        _log = log;
        Queue = SqliteRunQueue.Open(host.Settings.StateDirectory);
        Records = host.Records;
        Artifacts = host.Artifacts;
        Statuses = new StatusPublisher(_http, log);
        var backends = host.Backends(pull);
        Backends = backends;
        var engines = config.Repositories.ToDictionary(r => r.Name, r => (r, host.Runs(backends, (r.CloneUsername, r.ClonePassword?.Value))), StringComparer.Ordinal);
        Executor = new QueuedRunExecutor(config, engines, Queue, Live, Statuses, Metrics, log);
        Dispatcher = new RunDispatcher(config, Queue, Executor, Statuses, Metrics, log, Ci.Isolation.Processes.ProcessIdentity.Current.Token);
        Hooks = new HookReader(config.Repositories, time ?? TimeProvider.System);
        _app = Build();
    }

    public IRunQueue Queue { get; }

    internal Engine.Records.IRunRecords Records { get; }

    internal Records.ArtifactStore Artifacts { get; }

    public StatusPublisher Statuses { get; }

    public LiveRuns Live { get; } = new();

    public ServerMetrics Metrics { get; } = new();

    internal Backends.Containers.ContainerBackendFactory Backends { get; }

    public QueuedRunExecutor Executor { get; }

    public RunDispatcher Dispatcher { get; }

    public HookReader Hooks { get; }

    /// <summary>Where the server listens, once started (the port the system gave for port 0).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>
    /// Removes what a killed server left (containers, mounts, cgroups, networks), queues again what
    /// it was running, starts taking runs, then listens.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        // Runs block pool threads in libgit2 and SQLite while hooks are answered on the same pool: with the default minimum (one
        // thread a core) a burst waits for the pool to grow, about one thread a second (bench/serve.sh: p99 from 22 ms to 1 s).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
        Backends.Start();
        Dispatcher.Start();
        await _app.StartAsync(cancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        _log.Information("Listening on {Address} for {Count} repositories", Address, _config.Repositories.Count);
    }

    /// <summary>A SIGTERM: no new hooks, running runs get the grace period, the rest stays queued.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _app.StopAsync(cancellationToken);
        await Dispatcher.StopAsync(cancellationToken);
        await Statuses.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Dispatcher.DisposeAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }

    private WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = HookReader.MaxBodyBytes;
            var listen = _config.Listen;
            var ip = listen.Host is "localhost" ? IPAddress.Loopback
                : IPAddress.TryParse(listen.Host.Trim('[', ']'), out var parsed) ? parsed
                : throw new Settings.SettingsException($"listen: '{listen.Host}' is not an IP address (0.0.0.0, 127.0.0.1, [::])");
            var port = listen.IsDefaultPort && listen.OriginalString.IndexOf(':', listen.Scheme.Length + 3) < 0 ? (listen.Scheme == "https" ? 443 : 80) : listen.Port;
            kestrel.Listen(ip, port, options =>
            {
                if (_config.TlsCertificate is { } certificate)
                {
                    options.UseHttps(X509Certificate2.CreateFromPemFile(certificate, _config.TlsKey));
                }
            });
        });
        var app = builder.Build();
        MapHooks(app);
        MapApi(app);
        MapPages(app);
        return app;
    }
}
