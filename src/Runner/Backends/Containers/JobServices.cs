using System.Net.Sockets;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Networking;
using Ci.Pipeline.Plan;
using Ci.Pipeline.Values;
using Ci.Runner.Engine;

namespace Ci.Runner.Backends.Containers;

/// <summary>
/// A job's services: each a container from its image, started before the first step in the job's
/// network namespace (so a step reaches it at its alias, which every container's /etc/hosts maps to
/// 127.0.0.1), checked for readiness, watched while the job runs, and stopped after it (SIGTERM,
/// the grace period, then SIGKILL). What a service prints and every change of its state go to the
/// engine through <see cref="JobStart.Services"/>.
/// </summary>
internal sealed class JobServices : IAsyncDisposable
{
    private const int KeptLines = 20, TailLines = 5;
    private readonly List<Running> _services = [];
    private readonly Action<ServiceReport> _report;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _exited = new();
    private bool _stopping;

    private JobServices(Action<ServiceReport> report) => _report = report;

    /// <summary>Every service's alias, to 127.0.0.1: for the /etc/hosts of every container of the job.</summary>
    public IReadOnlyDictionary<string, string> Hosts { get; private set; } = new Dictionary<string, string>();

    private sealed class Running(PlannedService plan, ImageRoot root, CancellationTokenSource stop)
    {
        public PlannedService Plan { get; } = plan;

        public ImageRoot Root { get; } = root;

        public CancellationTokenSource Stop { get; } = stop;

        public Task<ContainerResult> Run { get; set; } = null!;

        /// <summary>Set once its readiness passed: from then on, its end is news of the job, not of its start.</summary>
        public bool Ready { get; set; }

        public Queue<string> LastLines { get; } = new();

        /// <summary>Its last lines, on one line (a status line and a job's reason are one line each).</summary>
        public string Tail()
        {
            lock (LastLines)
            {
                return LastLines.Count == 0 ? "it printed nothing" : "its last lines: " + string.Join(" | ", LastLines.TakeLast(TailLines));
            }
        }
    }

    /// <summary>What a service's container needs: its image's root and the job's network.</summary>
    public sealed record Context(
        ContainerRuntime Runtime,
        Func<string, CancellationToken, Task<ImageRoot>> Resolve,
        Func<EnvVar, string> Value,
        ContainerNetwork Network,
        NetworkNamespace? Namespace,
        CancellationToken KillNow);

    /// <summary>
    /// Starts the job's services and waits until each is ready; throws <see cref="BackendException"/> naming a service
    /// that is not ready in time (its check, what the check last saw and its last lines), after stopping them all.
    /// </summary>
    public static async Task<JobServices> StartAsync(PlannedJob job, Context context, Action<ServiceReport> report, CancellationToken cancellationToken)
    {
        var services = new JobServices(report)
        {
            Hosts = job.Services.ToDictionary(s => s.Alias, _ => "127.0.0.1", StringComparer.Ordinal),
        };
        try
        {
            foreach (var service in job.Services)
            {
                await services.StartOneAsync(service, context, cancellationToken);
            }

            // The first service that is not ready fails the job at once: the others' checks stop with it.
            using var checks = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var waits = services._services.Select(s => services.WaitReadyAsync(s, context, checks.Token)).ToList();
            try
            {
                while (waits.Count > 0)
                {
                    var done = await Task.WhenAny(waits);
                    waits.Remove(done);
                    await done;
                }
            }
            catch
            {
                await checks.CancelAsync();
                await Task.WhenAll(waits).ContinueWith(_ => { }, TaskScheduler.Default); // the others end before their containers are stopped
                throw;
            }

            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    /// <summary>The services that ended since the last call, each said once: for the output of the step that was running.</summary>
    public IEnumerable<string> TakeExited()
    {
        while (_exited.TryDequeue(out var line))
        {
            yield return line;
        }
    }

    private async Task StartOneAsync(PlannedService service, Context context, CancellationToken cancellationToken)
    {
        _report(new ServiceStatus(service.Alias, ServiceState.Starting, $"starting ({service.Image})"));
        ImageRoot root;
        try
        {
            root = await context.Resolve(service.Image, cancellationToken);
        }
        catch (Exception ex) when (ex is FormatException or IsolationException)
        {
            throw new BackendException($"service '{service.Alias}': {ex.Message}", infrastructure: ex is IsolationException, ex);
        }

        var running = new Running(service, root, CancellationTokenSource.CreateLinkedTokenSource(context.KillNow));
        var spec = Spec(service, root, context) with { Hostname = service.Alias, ExtraHosts = Hosts };
        running.Run = context.Runtime.RunAsync(spec, line =>
        {
            lock (running.LastLines)
            {
                running.LastLines.Enqueue(line.Text.Length > 300 ? line.Text[..300] + "…" : line.Text);
                if (running.LastLines.Count > KeptLines)
                {
                    running.LastLines.Dequeue();
                }
            }

            _report(new ServiceOutput(service.Alias, line.Stream == OutputStream.Stderr, line.Text));
        }, running.Stop.Token, context.KillNow);
        _services.Add(running);
        _ = running.Run.ContinueWith(t => Ended(running, t), TaskScheduler.Default);
    }

    /// <summary>The service's container: its image's entrypoint with its command (or the image's), the image's environment under its own, the job's network.</summary>
    private static ContainerSpec Spec(PlannedService service, ImageRoot root, Context context, IReadOnlyList<string>? command = null)
    {
        var env = root.Config.Environment();
        foreach (var variable in service.Env)
        {
            env[variable.Name] = context.Value(variable);
        }

        var (uid, gid) = UserIds.TryParse(root.Config.User, out var u, out var g) ? (u, g)
            : throw new BackendException($"service '{service.Alias}': its image runs as user '{root.Config.User}', and this runner takes {UserIds.Expected}", infrastructure: false);
        var entrypoint = root.Config.Entrypoint ?? [];
        var argv = command ?? [.. entrypoint, .. service.Command ?? root.Config.Cmd ?? []];
        if (argv.Count == 0)
        {
            throw new BackendException($"service '{service.Alias}': its image has no entrypoint and no command; give it a 'command'", infrastructure: false);
        }

        var limits = service.Limits ?? new ResourceLimits(null, null, null, null);
        return new ContainerSpec
        {
            Init = true, // a database forks workers; SIGTERM must reach it, and orphans be reaped
            Layers = root.Layers,
            Mounts = root.Mounts,
            Command = argv,
            Env = env,
            WorkingDirectory = root.Config.WorkingDir is { Length: > 0 } wd ? wd : "/",
            Uid = uid,
            Gid = gid,
            Network = context.Network,
            Limits = new ContainerLimits(limits.MilliCpus, limits.MemoryBytes, limits.SwapBytes, limits.Pids ?? 4096),
        };
    }

    private void Ended(Running service, Task<ContainerResult> run)
    {
        if (_stopping || service.Stop.IsCancellationRequested || !service.Ready)
        {
            return;
        }

        var how = run.IsCompletedSuccessfully ? Describe(run.Result) : $"failed to run: {run.Exception?.GetBaseException().Message}";
        var detail = $"{how} during the job; {service.Tail()}";
        _exited.Enqueue($"runner: service '{service.Plan.Alias}' {how}");
        _report(new ServiceStatus(service.Plan.Alias, ServiceState.Exited, detail) { Summary = $"{how} during the job" });
    }

    private static string Describe(ContainerResult result) =>
        result.OomKilled ? "was killed: out of memory"
        : result.ExitCode is { } code ? $"exited with code {code}"
        : $"was killed by signal {result.Signal}";

    private async Task WaitReadyAsync(Running service, Context context, CancellationToken cancellationToken)
    {
        var alias = service.Plan.Alias;
        if (service.Plan.Readiness is not { } readiness)
        {
            service.Ready = true;
            _report(new ServiceStatus(alias, ServiceState.Ready, "started (no readiness check)"));
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var checks = 0;
        while (true)
        {
            if (service.Run.IsCompleted)
            {
                var how = service.Run.IsCompletedSuccessfully ? Describe(service.Run.Result) : "failed to run";
                throw NotReady(service, $"{how} before it was ready; {service.Tail()}");
            }

            checks++;
            var problem = await CheckAsync(service, readiness, context, cancellationToken);
            if (problem is null)
            {
                service.Ready = true;
                _report(new ServiceStatus(alias, ServiceState.Ready, $"ready after {Units.FormatDuration(clock.Elapsed)}"));
                return;
            }

            if (checks >= readiness.Retries || clock.Elapsed + readiness.Interval > readiness.Timeout)
            {
                throw NotReady(service, $"was not ready after {Units.FormatDuration(clock.Elapsed)} and {checks} check{(checks == 1 ? "" : "s")}: "
                    + $"{problem}; {service.Tail()}");
            }

            await Task.Delay(readiness.Interval, cancellationToken);
        }
    }

    private BackendException NotReady(Running service, string detail)
    {
        _report(new ServiceStatus(service.Plan.Alias, ServiceState.NotReady, detail));
        return new BackendException($"service '{service.Plan.Alias}' ({service.Plan.Image}) {detail}", infrastructure: false);
    }

    /// <summary>One round of the service's checks, in the job's network; null when all pass, else what the first failing one saw.</summary>
    private static async Task<string?> CheckAsync(Running service, PlannedReadiness readiness, Context context, CancellationToken cancellationToken)
    {
        var patience = TimeSpan.FromTicks(Math.Clamp(readiness.Interval.Ticks * 5, TimeSpan.FromSeconds(2).Ticks, TimeSpan.FromSeconds(30).Ticks));
        if (readiness.TcpPort is { } port)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(patience);
            try
            {
                using var socket = await NamespaceSockets.ConnectAsync(context.Namespace, port, timeout.Token);
            }
            catch (SocketException ex)
            {
                return $"tcp {port}: {ex.SocketErrorCode switch { SocketError.ConnectionRefused => "connection refused", _ => ex.Message }}";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"tcp {port}: no answer in {Units.FormatDuration(patience)}";
            }
        }

        if (readiness.Http is { } url)
        {
            using var http = NamespaceSockets.HttpClient(context.Namespace, patience);
            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    return $"http {url} answered {(int)response.StatusCode} {response.ReasonPhrase}";
                }
            }
            catch (HttpRequestException ex)
            {
                return $"http {url}: {(ex.InnerException as SocketException)?.SocketErrorCode switch { SocketError.ConnectionRefused => "connection refused", _ => ex.Message }}";
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"http {url}: no answer in {Units.FormatDuration(patience)}";
            }
        }

        if (readiness.Command is { Count: > 0 } command)
        {
            // Run in a container of the service's image beside it: same network, same environment.
            var output = new Queue<string>();
            var result = await context.Runtime.RunAsync(Spec(service.Plan, service.Root, context, command) with
            {
                Hostname = service.Plan.Alias,
                Timeout = patience,
                StopGracePeriod = TimeSpan.FromSeconds(1),
            }, line =>
            {
                output.Enqueue(line.Text);
                if (output.Count > 3)
                {
                    output.Dequeue();
                }
            }, cancellationToken);
            if (!result.Succeeded)
            {
                var said = output.Count > 0 ? $" ({string.Join(" / ", output)})" : "";
                return $"command '{string.Join(' ', command)}' {(result.TimedOut ? $"gave no answer in {Units.FormatDuration(patience)}" : Describe(result))}{said}";
            }
        }

        return null;
    }

    /// <summary>Stops every service: SIGTERM, the grace period, then SIGKILL (at once when the run's forceful stop came); waits for each to be gone.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        foreach (var service in _services)
        {
            await service.Stop.CancelAsync();
        }

        foreach (var service in _services)
        {
            try
            {
                await service.Run;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IsolationException)
            {
                // stopped, as asked; a container that could not start was reported when it ended
            }

            service.Stop.Dispose();
        }
    }
}
