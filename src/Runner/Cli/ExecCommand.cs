using System.CommandLine;
using Ci.Pipeline.Secrets;
using Ci.Runner.Engine;
using Ci.Runner.Output;

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
    public static Command Create(RunnerHost host, SecretMasker masker)
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
        command.SetAction((parse, ct) => RunAsync(host, parse, masker, ct));
        return command;
    }

    private static async Task<int> RunAsync(RunnerHost host, ParseResult parse, SecretMasker masker, CancellationToken cancellationToken)
    {
        var (root, file) = PipelineOptions.Resolve(parse);
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

        RunSecrets secrets;
        try
        {
            secrets = RunSecrets.Load(parse.GetValue(SecretsFile), parse.GetValue(Secret) ?? [], Environment.GetEnvironmentVariables());
        }
        catch (SecretsException ex)
        {
            await Console.Error.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InvalidInput;
        }

        var json = parse.GetValue(GlobalOptions.Json);
        var service = host.Runs((r, ct) => ImageCommand.PullOrThrowAsync(host, r, quiet: json, ct));
        using var run = await service.PrepareAsync(new RunRequest
        {
            Source = new SourceRequest
            {
                LocalPath = url is null ? root : null,
                Url = url,
                Ref = parse.GetValue(Ref),
                Commit = revision,
                Worktree = worktree,
                Submodules = parse.GetValue(Submodules),
                Depth = depth,
            },
            PipelineFile = file,
            Trigger = TriggerOptions.Read(parse, root: null),
            Branch = parse.GetValue(TriggerOptions.Branch),
            Secrets = secrets,
            Jobs = parse.GetValue(Jobs) is { Length: > 0 } named ? named.ToHashSet(StringComparer.Ordinal) : null,
            Parallel = parse.GetValue(Parallel),
            FailFast = parse.GetValue(FailFast),
            ShellOnFailure = parse.GetValue(ShellOnFailure),
        }, cancellationToken);
        if (run.Note is { } note)
        {
            await Console.Error.WriteLineAsync(note);
        }

        foreach (var d in run.Diagnostics)
        {
            await Console.Error.WriteLineAsync(d.ToString());
        }

        if (run.NotTriggered is { } why)
        {
            Console.WriteLine($"not triggered: {why}");
            return ExitCodes.Ok;
        }

        if (!run.CanRun)
        {
            if (run.Error is { } error)
            {
                await Console.Error.WriteLineAsync($"runner: {error}");
            }

            return ExitCodes.InvalidInput;
        }

        using var view = new RunView(Console.Out, Console.Error, json, !json && RunView.ColourWanted(), masker, live: !json && RunView.LiveWanted());
        using var stop = new RunStop();
        RunOutcome outcome;
        // Ctrl-C is the host's to map: the first stops politely, the second kills.
        await using (Interrupts.Graceful.Register(stop.Stop))
        await using (Interrupts.Forceful.Register(stop.Kill))
        {
            outcome = await service.RunAsync(run, masker, e =>
            {
                if (e is not RunFinished || json)
                {
                    view.Report(e);
                }
            }, stop, on => Interrupts.Paused = on);
        }

        if (!json)
        {
            view.Summary(outcome.Jobs);
        }

        return outcome.Cancelled ? ExitCodes.Interrupted
            : outcome.InfrastructureFailure ? ExitCodes.InternalError
            : outcome.Failed ? ExitCodes.JobFailed
            : ExitCodes.Ok;
    }
}
