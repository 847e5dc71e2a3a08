using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;
using Ci.Runner.Engine;

namespace Ci.Runner.Backends.Containers;

/// <summary>
/// Runs every step in a fresh container: the job's image, the checkout layer and, read-only,
/// the file system each earlier step of the job left (its kept upper directory) — no copying
/// between steps. A job's steps share one network namespace.
/// </summary>
public sealed class ContainerStepBackend(
    ContainerRuntime runtime,
    ImageStore images,
    Func<ImageReference, CancellationToken, Task<Image>> pull,
    string runDirectory,
    string stateDirectory,
    IReadOnlyDictionary<string, string> secrets,
    Func<PlannedJob, string> artifactsDirectory,
    CacheScope cacheScope,
    Action<RunEvent>? notice = null) : IStepBackend, IInteractiveBackend
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _releases = new();

    private sealed class Handle(PlannedJob job, Workspace workspace, string directory) : IJobHandle
    {
        public PlannedJob Job { get; } = job;

        /// <summary>The sources, as layers (top first), and the key naming them.</summary>
        public Workspace Workspace { get; } = workspace;

        public string Directory { get; } = directory;

        public List<string> ImageLayers { get; } = [];

        public List<BindMount> ImageMounts { get; } = [];

        public ImageConfig Config { get; set; } = ImageConfig.Default;

        public List<string> StepLayers { get; } = []; // oldest first

        public List<string> ArtifactLayers { get; } = [];

        public NetworkNamespace? Network { get; set; }

        public JobServices? Services { get; set; }

        public List<CacheMount> Caches { get; } = [];

        /// <summary>Whether fresh caches were given to the job's user yet (the first step's).</summary>
        public bool CachesOwned { get; set; }

        /// <summary>The cache key of the file system so far: the image, then each step's layer.</summary>
        public string Key { get; set; } = "";

        /// <summary>Where each step started (layer count, key), so that a retry starts there again and not on its failed attempt.</summary>
        public Dictionary<int, (int Layers, string Key)> StepStarts { get; } = [];
    }

    public async Task<IJobHandle> StartJobAsync(JobStart start, CancellationToken cancellationToken)
    {
        var job = start.Job;
        try
        {
            return await StartAsync(start, cancellationToken);
        }
        catch (IsolationException ex)
        {
            throw new BackendException(ex.Message, infrastructure: true, ex); // an image that cannot be pulled, a network namespace that cannot be made
        }
        catch (FormatException ex)
        {
            throw new BackendException(ex.Message, infrastructure: false, ex);
        }
    }

    private async Task<IJobHandle> StartAsync(JobStart start, CancellationToken cancellationToken)
    {
        var handle = new Handle(start.Job, start.Workspace, Directory.CreateDirectory(Path.Combine(runDirectory, start.Job.Id)).FullName);
        try
        {
            await PrepareAsync(handle, start, cancellationToken);
            return handle;
        }
        catch
        {
            await ReleaseAsync(handle); // what was made before the failure: services, network, scratch directory
            throw;
        }
    }

    /// <summary>The image (pulled when missing) of a job or a service, as the layers and config a container stands on.</summary>
    private async Task<ImageRoot> ResolveAsync(string image, CancellationToken cancellationToken)
    {
        var reference = ImageReference.Parse(image);
        var found = images.Find(reference) ?? await pull(reference, cancellationToken);
        images.Touch(found);
        return ImageRoot.Of(images, found);
    }

    private async Task PrepareAsync(Handle handle, JobStart start, CancellationToken cancellationToken)
    {
        var job = start.Job;
        // The network (a namespace and CNI's ADD: tens of milliseconds) is made while the image is found or pulled.
        var network = JobNetwork.CreateAsync(runtime, job.Network, cancellationToken);
        try
        {
            await ResolveJobImageAsync(handle, job, cancellationToken);
        }
        catch
        {
            if (await network.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default) is { } made)
            {
                await made.DisposeAsync();
            }

            throw;
        }

        handle.Network = await network;

        // Artifacts of the jobs it needs sit above the checkout, under the same /workspace paths.
        handle.ArtifactLayers.AddRange(start.NeededArtifacts.Select(a => a.Location));
        if (job.Services.Count > 0)
        {
            handle.Services = await JobServices.StartAsync(job, new JobServices.Context(runtime, ResolveAsync, Resolve,
                JobNetwork.For(job.Network, handle.Network), handle.Network, KillNow), start.Services, cancellationToken);
        }

        OpenCaches(handle);
    }

    private async Task ResolveJobImageAsync(Handle handle, PlannedJob job, CancellationToken cancellationToken)
    {
        ImageRoot root;
        if (job.Image is null)
        {
            root = ImageRoot.Of(HostImage.Open(stateDirectory));
            // The host image changes with the host's packages: key it on the installed package list.
            handle.Key = StepCache.Key("host-image", File.Exists("/var/lib/dpkg/status") ? File.GetLastWriteTimeUtc("/var/lib/dpkg/status").Ticks.ToString() : "");
        }
        else
        {
            var reference = ImageReference.Parse(job.Image);
            var image = images.Find(reference) ?? await pull(reference, cancellationToken);
            images.Touch(image);
            root = ImageRoot.Of(images, image);
            handle.Key = StepCache.Key("image", string.Join(",", image.Layers), image.Config.Fingerprint());
        }

        handle.ImageLayers.AddRange(root.Layers);
        handle.ImageMounts.AddRange(root.Mounts);
        handle.Config = root.Config;
    }

    public async Task<StepOutcome> RunStepAsync(IJobHandle job, PlannedStep step, int attempt, Action<StepOutput> output, CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync((Handle)job, step, attempt, output, cancellationToken);
        }
        catch (IsolationException ex)
        {
            throw new BackendException(ex.Message, infrastructure: true, ex); // the machine failed, not the step
        }
    }

    private async Task<StepOutcome> RunAsync(Handle handle, PlannedStep step, int attempt, Action<StepOutput> output, CancellationToken cancellationToken)
    {
        if (attempt > 1 && handle.StepStarts.TryGetValue(step.Index, out var start))
        {
            // A retry: the failed attempt's layer goes (stacking it under the new attempt's upper directory would be the same directory twice).
            handle.StepLayers.RemoveRange(start.Layers, handle.StepLayers.Count - start.Layers);
            handle.Key = start.Key;
        }
        else
        {
            await SquashStepLayersAsync(handle, step);
            handle.StepStarts[step.Index] = (handle.StepLayers.Count, handle.Key);
        }

        string? cacheKey = null;
        if (step.LayerCache is { } layer)
        {
            // Everything that can change the result: the layers under it, the declared inputs, and the sources when it names no key files.
            cacheKey = StepCache.Key(handle.Key, layer.InputsDigest, layer.WholeCheckout ? handle.Workspace.Key : "");
            if (cache.Find(cacheKey, cacheScope) is { } hit)
            {
                handle.StepLayers.Add(hit.Path);
                handle.Key = cacheKey;
                return new StepOutcome(0, null, false, false, TimeSpan.Zero, TimeSpan.Zero, 0) { CachedFrom = hit.Created, CachedRun = hit.Run };
            }
        }

        var upper = Path.Combine(handle.Directory, $"step-{step.Index}");
        if (Directory.Exists(upper))
        {
            await runtime.DrainAsync(); // the failed attempt's clean-up removes the work directory this attempt makes again
            Directory.Delete(upper, recursive: true); // a retried step starts again from the previous step's state
        }

        Directory.CreateDirectory(upper);
        ContainerResult result;
        // A step that leaves the job's network gets one of its own, for its container alone (a bridged one is released after it).
        await using (var own = JobNetwork.OwnFor(handle.Job, step) && step.Network == NetworkMode.Bridge
            ? await JobNetwork.CreateAsync(runtime, NetworkMode.Bridge, cancellationToken) : null)
        {
            result = await runtime.RunAsync(StepSpec(handle, step, [.. handle.StepLayers.AsEnumerable().Reverse()], own) with
            {
                UpperDirectory = upper,
            }, line => output(new StepOutput(line.Stream == OutputStream.Stderr, line.Text)), cancellationToken, KillNow);
        }

        foreach (var exited in handle.Services?.TakeExited() ?? [])
        {
            output(new StepOutput(true, exited + " while this step ran"));
        }

        // This step's file system is where the next one starts; a cached step's result is kept for later runs.
        var outcome = new StepOutcome(result.ExitCode, result.Signal, result.OomKilled, result.TimedOut, result.WallTime, result.CpuTime, result.PeakMemoryBytes)
        {
            WritableLimitExceeded = result.WritableLimitExceeded,
            StartDuration = result.StartDuration,
        };
        if (cacheKey is not null && outcome.Succeeded)
        {
            handle.StepLayers.Add(cache.Store(cacheKey, cacheScope, upper, RunId));
            handle.Key = cacheKey;
            return outcome;
        }

        handle.StepLayers.Add(upper);
        handle.Key = StepCache.Key(handle.Key, "uncached", Guid.NewGuid().ToString()); // later cached steps must not reuse layers made on top of this one
        return outcome;
    }

    /// <summary>How many of a job's own step layers may stack before they are applied onto one.</summary>
    private const int StackedStepLayers = 16;

    /// <summary>
    /// Each step's upper directory is a layer of the next, and overlayfs takes at most a page of options and 500 layers: the
    /// job's own layers at the top of its stack (not cached ones, which other runs share) are applied onto one every
    /// <see cref="StackedStepLayers"/> steps (<see cref="LayerSquasher"/>, moving entries, whiteouts kept). Onto the one an
    /// earlier round made, when it is at the bottom of them, so that what a step wrote is moved once, not at every round.
    /// </summary>
    private async Task SquashStepLayersAsync(Handle handle, PlannedStep step)
    {
        var start = handle.StepLayers.Count;
        while (start > 0 && Path.GetDirectoryName(handle.StepLayers[start - 1]) == handle.Directory)
        {
            start--;
        }

        var own = handle.StepLayers.GetRange(start, handle.StepLayers.Count - start);
        if (own.Count < StackedStepLayers)
        {
            return;
        }

        await runtime.DrainAsync(); // the containers that used them are gone, their work directories too
        var onto = Path.GetFileName(own[0]).StartsWith("squashed-", StringComparison.Ordinal) ? own[0] : Path.Combine(handle.Directory, $"squashed-{step.Index}");
        var layers = own.Where(l => l != onto).ToList();
        LayerSquasher.ApplyOnto(onto, layers);
        foreach (var layer in layers)
        {
            Directory.Delete(layer, recursive: true); // what is left: its directories and whiteouts, now in the squashed layer too
        }

        handle.StepLayers.RemoveRange(start, own.Count);
        handle.StepLayers.Add(onto);
    }

    /// <summary>Cancelled when a stop must not wait for the steps' grace period (a second Ctrl-C).</summary>
    public CancellationToken KillNow { get; init; }

    /// <summary>The container of a step: the job's image, checkout and artifacts under <paramref name="stepLayersTopFirst"/>, the step's environment, user, limits and network.</summary>
    private ContainerSpec StepSpec(Handle handle, PlannedStep step, IReadOnlyList<string> stepLayersTopFirst, NetworkNamespace? ownNetwork = null)
    {
        var env = handle.Config.Environment();
        foreach (var variable in step.Env)
        {
            env[variable.Name] = Resolve(variable);
        }

        var (uid, gid) = User(step.User ?? handle.Config.User, step);
        GiveFreshCachesTo(handle, uid, gid);
        env.TryAdd("HOME", uid == 0 ? "/root" : "/"); // as Docker does when the image sets none (without a passwd lookup yet)
        return new ContainerSpec
        {
            // Scripts start background processes and leave orphans; a stop must reach them at once, not after the grace period.
            Init = true,
            Layers = [.. stepLayersTopFirst, .. handle.ArtifactLayers, .. handle.Workspace.Layers, .. handle.ImageLayers],
            Mounts = handle.ImageMounts,
            OverlayVolumes = handle.Caches.SelectMany(c => c.Volumes).ToList(),
            Command = step.Command,
            Env = env,
            WorkingDirectory = step.Workdir,
            Uid = uid,
            Gid = gid,
            Hostname = handle.Job.Id.Length <= 63 ? handle.Job.Id : handle.Job.Id[..63],
            Limits = new ContainerLimits(step.Limits.MilliCpus, step.Limits.MemoryBytes, step.Limits.SwapBytes, step.Limits.Pids),
            Network = JobNetwork.OwnFor(handle.Job, step) ? JobNetwork.For(step.Network!.Value, ownNetwork) : JobNetwork.For(handle.Job.Network, handle.Network),
            ExtraHosts = JobNetwork.OwnFor(handle.Job, step) ? new Dictionary<string, string>() : handle.Services?.Hosts ?? new Dictionary<string, string>(),
            Timeout = step.Timeout,
        };
    }

    /// <summary>
    /// An interactive shell (bash if the image has it) in a fresh container with exactly the
    /// failed step's starting state: the layers under it, its environment (secrets included: it
    /// is the user's own terminal), user, working directory, caches and network. No time limit.
    /// </summary>
    public async Task ReproduceAsync(IJobHandle job, PlannedStep step, CancellationToken cancellationToken)
    {
        var handle = (Handle)job;
        var before = handle.StepLayers.Take(handle.StepLayers.Count - 1).Reverse().ToList(); // the failed step's own layer is the last
        InteractiveSession?.Invoke(true);
        try
        {
            var spec = StepSpec(handle, step, before);
            await runtime.RunAsync(spec with
            {
                // On a terminal the shell gets one of its own (runner-init makes it); TERM says what kind, as docker run -t does.
                Env = new Dictionary<string, string>(spec.Env, StringComparer.Ordinal) { ["TERM"] = TerminalKind() },
                Command = ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh"],
                Interactive = true,
                Timeout = null,
            }, null, cancellationToken, KillNow);
        }
        finally
        {
            InteractiveSession?.Invoke(false);
        }
    }

    /// <summary>The user's TERM when it is a plain terminal name (it is not a secret, but it is the runner's environment: only a name passes), else xterm.</summary>
    private static string TerminalKind() =>
        Environment.GetEnvironmentVariable("TERM") is { Length: > 0 and <= 64 } term && term.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '+')
            ? term : "xterm";

    /// <summary>The run being recorded: a step layer this run caches says it came from it.</summary>
    public long? RunId { get; init; }

    /// <summary>Told when an interactive shell starts (true) and ends (false): Ctrl-C then belongs to the shell.</summary>
    public Action<bool>? InteractiveSession { get; init; }

    private readonly StepCache cache = new(stateDirectory);
    private readonly DirectoryCaches _directoryCaches = new(stateDirectory);

    private void OpenCaches(Handle handle)
    {
        // ~ is the image's HOME, else root's (steps run as root unless they say otherwise).
        var home = handle.Config.Env.FirstOrDefault(e => e.StartsWith("HOME=", StringComparison.Ordinal))?[5..] ?? "/root";
        foreach (var (planned, i) in handle.Job.Caches.Select((c, i) => (c, i)))
        {
            var paths = planned.Paths.Select(p => p.StartsWith("~/", StringComparison.Ordinal) ? $"{home.TrimEnd('/')}/{p[2..]}"
                : p.StartsWith('/') ? p : $"{handle.Job.Workdir.TrimEnd('/')}/{p}").ToList();
            var mount = _directoryCaches.Open(planned, cacheScope, paths, Path.Combine(handle.Directory, $"cache-{i}"));
            handle.Caches.Add(mount);
            notice?.Invoke(new JobNotice(handle.Job.Id, mount.RestoredFrom is null ? $"{handle.Job.DisplayName}: cache '{planned.Key}' starts empty"
                : mount.RestoredFrom == planned.Key ? $"{handle.Job.DisplayName}: cache '{planned.Key}' restored"
                : $"{handle.Job.DisplayName}: cache '{planned.Key}' restored from '{mount.RestoredFrom}'"));
        }
    }

    /// <summary>A cache that starts empty belongs to the user of the job's first step, as a directory it made itself would.</summary>
    private static void GiveFreshCachesTo(Handle handle, uint uid, uint gid)
    {
        if (handle.CachesOwned)
        {
            return;
        }

        handle.CachesOwned = true;
        foreach (var volume in handle.Caches.Where(c => c.LayerIds.Count == 0).SelectMany(c => c.Volumes))
        {
            volume.GiveTo(uid, gid);
        }
    }

    private async Task FinishCachesAsync(Handle handle, bool succeeded)
    {
        foreach (var mount in handle.Caches)
        {
            if (succeeded && mount.Cache.Policy != CachePolicy.Pull)
            {
                await _directoryCaches.SaveAsync(mount, CancellationToken.None);
                notice?.Invoke(new JobNotice(handle.Job.Id, $"{handle.Job.DisplayName}: cache '{mount.Cache.Key}' saved"));
            }
            else
            {
                _directoryCaches.Release(mount);
            }
        }

        handle.Caches.Clear();
    }

    /// <summary>
    /// Copies the files the artifacts patterns match, as the job's last step left them (deletions
    /// and all), into a layer-shaped directory (workspace/…) kept for the run; paths are relative
    /// to the job's workdir. The container made these files: links are copied as links (never
    /// followed on the host), devices and fifos are left out, setuid bits dropped.
    /// </summary>
    private ArtifactSet CollectArtifacts(Handle handle, PlannedArtifacts artifacts)
    {
        using var stack = new LayerStack([.. handle.StepLayers.AsEnumerable().Reverse(), .. handle.ArtifactLayers, .. handle.Workspace.Layers]);
        var target = artifactsDirectory(handle.Job);
        using var kept = Ci.Isolation.Files.RootedDirectory.Open(target, create: true);
        var workdir = handle.Job.Workdir.Trim('/');
        var count = 0;
        foreach (var (relative, layer, _) in stack.Files(handle.Job.Workdir, path => Ci.Pipeline.Values.Glob.MatchesList(artifacts.Paths, path)))
        {
            var from = workdir.Length == 0 ? relative : $"{workdir}/{relative}";
            count += Ci.Isolation.Files.TreeCopy.CopyEntry(layer, from, kept, from) ? 1 : 0;
        }

        return new ArtifactSet(handle.Job.Id, target, count);
    }

    public async Task<ArtifactSet?> FinishJobAsync(IJobHandle job, bool succeeded, CancellationToken cancellationToken)
    {
        await runtime.DrainAsync(); // the steps' clean-ups work in the job's directory, which goes below
        var handle = (Handle)job;
        ArtifactSet? kept = null;
        if (handle.Job.Artifacts is { } artifacts && artifacts.When switch
        {
            ArtifactsWhen.Always => true,
            ArtifactsWhen.OnFailure => !succeeded,
            _ => succeeded,
        })
        {
            kept = CollectArtifacts(handle, artifacts);
        }

        await FinishCachesAsync(handle, succeeded);
        await ReleaseAsync(handle);
        return kept;
    }

    /// <summary>
    /// Stops the job's services, then releases its network and scratch directory. The network goes in the
    /// background (CNI's DEL takes tens of milliseconds), off the path to the next job and the run's end;
    /// <see cref="DisposeAsync"/> waits for it.
    /// </summary>
    private async Task ReleaseAsync(Handle handle)
    {
        if (handle.Services is { } services)
        {
            await services.DisposeAsync();
            handle.Services = null;
        }

        if (handle.Network is { } ns)
        {
            var release = ns.DisposeAsync().AsTask();
            _releases[release] = 0;
            handle.Network = null;
        }

        if (Directory.Exists(handle.Directory))
        {
            Directory.Delete(handle.Directory, recursive: true);
        }
    }

    /// <summary>Done once the run's scratch directory is gone (the store's clean-up).</summary>
    public Action? AfterRun { get; init; }

    /// <summary>Waits for the containers' clean-up still in hand, then removes the run's scratch directory (their upper and work directories).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var release in _releases.Keys)
        {
            try
            {
                await release;
            }
            catch (IsolationException ex)
            {
                notice?.Invoke(new JobNotice("", $"a job's network could not be released ({ex.Message}); the next runner start releases it"));
            }
        }

        await runtime.DrainAsync();
        if (Directory.Exists(runDirectory))
        {
            Directory.Delete(runDirectory, recursive: true);
        }

        AfterRun?.Invoke();
    }

    private string Resolve(EnvVar variable)
    {
        var value = variable.Value;
        foreach (var name in variable.Secrets)
        {
            value = value.Replace("${{ secrets." + name + " }}", secrets.GetValueOrDefault(name, ""), StringComparison.Ordinal);
        }

        return value;
    }

    private static (uint, uint) User(string? user, PlannedStep step) =>
        UserIds.TryParse(user, out var uid, out var gid) ? (uid, gid)
            : throw new BackendException($"step {step.Index} ({step.Name}): user '{user}' must be {UserIds.Expected}", infrastructure: false);
}
