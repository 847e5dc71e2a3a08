using System.CommandLine;
using Ci.Isolation.Containers;
using Ci.Pipeline.Compilation;
using Ci.Pipeline.Secrets;
using Ci.Pipeline.Values;
using Ci.Runner.Backends.Containers;
using Ci.Runner.Engine;
using Ci.Runner.Engine.Records;
using Ci.Runner.Output;
using Ci.Runner.Records;
using Ci.Runner.Settings;
using Ci.Runner.Sources;

namespace Ci.Runner.Cli;

/// <summary>
/// <c>runner exec</c>: runs the committed pipeline of the repository (or project directory) you
/// stand in, every step in a fresh container, and prints a summary. Exit 0 when every job passed
/// (or was allowed to fail), 1 when one failed, 2 for an invalid pipeline, 3 for an infrastructure error.
/// </summary>
internal static class ExecCommand
{
    private static readonly Option<string[]> Jobs = new("--job", "-j") { Description = "Run only this job (by name or id) and what it needs (repeatable)" };
    private static readonly Option<string> Url = new("--url") { Description = "Run the pipeline of a remote repository (file://, https://, ssh), fetched into a local mirror that later runs reuse" };
    private static readonly Option<string> Ref = new("--ref") { Description = "With --url: the branch, tag or commit to run (default: the remote's default branch)" };
    private static readonly Option<int> Depth = new("--depth")
    {
        Description = "With --url over http(s) or ssh: make a new mirror shallow, with only the last N commits of each branch (later fetches add only what is new)",
    };

    private static readonly Option<bool> Submodules = new("--submodules") { Description = "Include submodules, recursively (local: their checkouts; --url: each fetched into a mirror of its own)" };
    private static readonly Option<bool> ShellOnFailure = new("--shell-on-failure")
    {
        Description = "When a step fails, open a shell in a fresh container with its exact starting state and environment (jobs then run one at a time)",
    };

    private static readonly Option<int> Parallel = new("--jobs") { Description = "Jobs at once (default 2)", DefaultValueFactory = _ => 2 };
    private static readonly Option<string> SecretsFile = new("--secrets-file")
    {
        Description = "Secret values for the pipeline's declared secrets, one NAME=VALUE a line (dotenv); the file must be readable by its owner only",
    };

    private static readonly Option<string[]> Secret = new("--secret")
    {
        Description = "Give the pipeline the runner's environment variable VAR as a secret (repeatable); no other variable ever reaches a pipeline",
    };

    private static readonly Option<bool> FailFast = new("--fail-fast") { Description = "Stop the run when a job fails: running jobs are stopped (SIGTERM, as a first Ctrl-C), others do not start" };

    /// <param name="masker">The process's masker, which the diagnostic log uses: the run's secrets are added to it.</param>
    public static Command Create(SecretMasker masker)
    {
        var command = new Command("exec", "Run the committed pipeline of a repository, every step in a fresh container");
        PipelineOptions.AddTo(command);
        TriggerOptions.AddTo(command);
        command.Options.Add(Jobs);
        command.Options.Add(Parallel);
        command.Options.Add(FailFast);
        command.Options.Add(SecretsFile);
        command.Options.Add(Secret);
        command.Options.Add(Url);
        command.Options.Add(Ref);
        command.Options.Add(Depth);
        command.Options.Add(Submodules);
        command.Options.Add(ShellOnFailure);
        command.SetAction((parse, ct) => RunAsync(parse, masker, ct));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, SecretMasker masker, CancellationToken cancellationToken)
    {
        var (root, file) = PipelineOptions.Resolve(parse);
        var settings = RunnerSettings.FromEnvironment();
        IReadOnlyList<string> layers;
        string commit, branch, tree, defaultBranch;
        var worktree = parse.GetValue(PipelineOptions.Worktree);
        var url = parse.GetValue(Url);
        if (url is not null && worktree)
        {
            await Console.Error.WriteLineAsync("runner: --worktree runs a local working tree; it does not go with --url");
            return ExitCodes.InvalidInput;
        }

        var depth = parse.GetValue(Depth);
        if (depth < 0 || (depth > 0 && url is null))
        {
            await Console.Error.WriteLineAsync(depth < 0 ? $"runner: --depth must be 1 or more, not {depth}" : "runner: --depth makes a shallow mirror of a remote; it goes with --url");
            return ExitCodes.InvalidInput;
        }

        var revision = parse.GetValue(TriggerOptions.Commit);
        if (revision is not null && (worktree || url is not null))
        {
            await Console.Error.WriteLineAsync(worktree ? "runner: --commit runs a commit; --worktree runs the working tree: give one of them"
                : "runner: with --url, name the branch, tag or commit with --ref");
            return ExitCodes.InvalidInput;
        }

        try
        {
            (layers, commit, branch, tree, defaultBranch) = url is null
                ? Checkout.Prepare(root, settings.StateDirectory, worktree, parse.GetValue(Submodules), revision)
                : RemoteSource.Prepare(url, parse.GetValue(Ref), settings.StateDirectory, settings.GitCredentials, parse.GetValue(Submodules), depth);
        }
        catch (Exception ex) when (ex is InvalidOperationException or LibGit2Sharp.LibGit2SharpException)
        {
            await Console.Error.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InvalidInput;
        }

        var trigger = TriggerOptions.Read(parse, root) with { Commit = commit, Branch = parse.GetValue(TriggerOptions.Branch) ?? branch };
        RunSecrets secretSources;
        try
        {
            secretSources = RunSecrets.Load(parse.GetValue(SecretsFile), parse.GetValue(Secret) ?? [], Environment.GetEnvironmentVariables());
        }
        catch (SecretsException ex)
        {
            await Console.Error.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InvalidInput;
        }

        // The plan is compiled from the sources the steps see: the committed tree, or with --worktree the working directory.
        using var sources = worktree ? new RootedSourceTree(root)
            : new RootedSourceTree(Path.Combine(layers[^1], Checkout.WorkspaceDirectory), url is null ? $"commit {commit[..12]}" : $"commit {commit[..12]} of {RemoteSource.Display(url)}");
        if (!worktree && url is null && Checkout.LeftOutOf(root, "runner exec runs") is { } leftOut)
        {
            await Console.Error.WriteLineAsync(leftOut);
        }

        var result = PipelineCompiler.Compile(sources, file,
            trigger with { AvailableSecrets = secretSources.Availability });
        foreach (var d in result.Diagnostics)
        {
            await Console.Error.WriteLineAsync(d.ToString());
        }

        if (result.Plan is not { } plan)
        {
            return ExitCodes.InvalidInput;
        }

        var only = parse.GetValue(Jobs) is { Length: > 0 } named ? named.ToHashSet(StringComparer.Ordinal) : null;
        if (only?.FirstOrDefault(n => !plan.Jobs.Any(j => j.Id == n || j.Name == n)) is { } unknown)
        {
            // Before anything is recorded or pulled: a typo must not run an empty pipeline and exit 0.
            var suggestion = Ci.Pipeline.Parsing.Suggestions.Nearest(unknown, plan.Jobs.Select(j => j.Name).Distinct()) is { } near ? $" (did you mean '{near}'?)" : "";
            await Console.Error.WriteLineAsync($"runner: -j: the pipeline has no job '{unknown}'{suggestion}; its jobs: {string.Join(", ", plan.Jobs.Select(j => j.Id))}");
            return ExitCodes.InvalidInput;
        }

        if (!plan.IsTriggered)
        {
            Console.WriteLine($"not triggered: {plan.NotTriggeredReason}");
            return ExitCodes.Ok;
        }

        var secrets = secretSources.ValuesFor(plan.Secrets);
        foreach (var value in secrets.Values)
        {
            masker.Add(value);
        }

        ContainerRuntime runtime;
        try
        {
            // Steps start one after another: a finished step's cgroups and directories go in the background, off the next step's path.
            runtime = ContainerRuntime.Create(settings.RuntimeOptions with { DeferCleanup = true }, Serilog.Log.Logger);
        }
        catch (Exception ex) when (ex is IsolationException or Isolation.Cgroups.CgroupUnavailableException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"runner: cannot start containers here: {ex.Message}");
            return ExitCodes.InternalError;
        }

        var runDirectory = RunDirectories.Create(settings.StateDirectory, commit);
        var record = RunStore.Open(settings.StateDirectory);
        var runId = record.StartRun(new RunOrigin(url is null ? root : RemoteSource.Display(url), commit, trigger.Branch ?? "", trigger.Event.ToString().ToLowerInvariant()));
        await using var log = record.OpenLog(runId);
        var artifactStore = ArtifactStore.Open(settings.StateDirectory);
        var json = parse.GetValue(GlobalOptions.Json);
        using var view = new RunView(Console.Out, Console.Error, json, !json && RunView.ColourWanted(), masker, live: !json && RunView.LiveWanted());
        void Report(RunEvent e)
        {
            if (e is StepOutputEvent line)
            {
                log.Append(line);
            }

            view.Report(e);
        }

        Report(new JobNotice("", $"run {runId} ('runner logs {runId}' prints it again)"));
        var workspace = new Workspace(layers, tree, url is null ? root : RemoteSource.Display(url), commit);
        IReadOnlyList<JobResult> jobs;
        using var stop = new RunStop();
        await using (Interrupts.Graceful.Register(stop.Stop))
        await using (Interrupts.Forceful.Register(stop.Kill))
        await using (var backend = new ContainerStepBackend(runtime, ImageCommand.OpenStore(),
            async (r, ct) => await ImageCommand.PullAsync(r, quiet: json, ct) ?? throw new IsolationException($"cannot pull {r}"),
            runDirectory, settings.StateDirectory, secrets,
            job => artifactStore.Directory(runId, job.Id, DateTimeOffset.UtcNow + (job.Artifacts?.ExpireIn ?? TimeSpan.FromDays(7))),
            // Caches belong to the repository (its URL, or its path) and to the branch; a pull request's are its own.
            new CacheScope(url is null ? root : RemoteSource.Display(url), trigger.Branch ?? "", defaultBranch, trigger.Event == Ci.Pipeline.Model.TriggerEvent.PullRequest),
            Report)
        {
            KillNow = stop.KillNow,
            RunId = runId,
            InteractiveSession = on => Interrupts.Paused = on,
        })
        {
            var shell = parse.GetValue(ShellOnFailure);
            var scheduler = new Scheduler(backend, shell ? 1 : Math.Max(1, parse.GetValue(Parallel)), masker, Report)
            {
                ShellOnFailure = shell,
                FailFast = parse.GetValue(FailFast),
                RunId = runId,
            };
            // The backend's disposal waits for the containers' clean-up and removes the run directory, which frees what the steps wrote.
            jobs = await scheduler.RunAsync(plan, only, workspace, stop);
        }

        await log.DisposeAsync();
        if (log.LostLines > 0)
        {
            Report(new JobNotice("", $"the run record could not keep {log.LostLines} log lines: the disk stayed full"));
        }
        var status = cancellationToken.IsCancellationRequested ? "cancelled"
            : jobs.Any(j => j.InfrastructureFailure) ? "error"
            : jobs.Any(j => j.Status == RunStatus.Failed) ? "failed" : "passed";
        record.FinishRun(runId, status, jobs);
        if (settings.StoreLimit is { } limit)
        {
            var collected = StoreCollector.Collect(settings.StateDirectory, ImageCommand.OpenStore(), limit);
            if (collected.Removed.Count > 0)
            {
                Report(new JobNotice("", $"the store was over its limit of {Units.FormatBytes(limit)} ({Units.FormatBytes(collected.BytesBefore)}): " +
                    $"removed {string.Join(", ", collected.Removed)}, the longest unused; freed {Units.FormatBytes(collected.BytesFreed)}"));
            }
        }

        if (json)
        {
            Report(new RunFinished(runId, status, jobs));
        }
        else
        {
            view.Summary(jobs);
        }

        return cancellationToken.IsCancellationRequested ? ExitCodes.Interrupted
            : jobs.Any(j => j.InfrastructureFailure) ? ExitCodes.InternalError
            : jobs.Any(j => j.Status == RunStatus.Failed) ? ExitCodes.JobFailed
            : ExitCodes.Ok;
    }
}
