using System.CommandLine;
using Ci.Pipeline.Values;

namespace Ci.Runner.Cli;

/// <summary><c>runner artifacts RUN [JOB] [-o DIR]</c>: list a run's artifacts, or fetch one job's.</summary>
internal static class ArtifactsCommand
{
    private static readonly Argument<string> Run = RunArgument.Create();
    private static readonly Argument<string?> Job = new("job") { Description = "Only this job's artifacts", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<string> Output = new("--output", "-o") { Description = "Copy the job's artifacts into this directory (paths relative to /workspace kept)" };

    public static Command Create(RunnerHost host)
    {
        var command = new Command("artifacts", "List a run's artifacts, or fetch a job's with -o");
        command.Arguments.Add(Run);
        command.Arguments.Add(Job);
        command.Options.Add(Output);
        command.SetAction(parse =>
        {
            var state = host.Settings.StateDirectory;
            if (RunArgument.Find(host.Records, parse.GetValue(Run)!) is not { } runId)
            {
                return ExitCodes.InvalidInput;
            }

            var store = host.Artifacts;
            var job = parse.GetValue(Job);
            var files = store.List(runId, job);
            if (job is not null && files.Count == 0)
            {
                var jobs = store.List(runId).Select(f => f.Job).Distinct().ToList();
                Console.Error.WriteLine($"runner: run {runId} kept no artifacts of job '{job}'" + (jobs.Count > 0 ? $"; jobs with artifacts: {string.Join(", ", jobs)}" : " (none of its jobs kept any, or they expired)"));
                return ExitCodes.InvalidInput;
            }

            if (parse.GetValue(Output) is { } target)
            {
                if (job is null)
                {
                    Console.Error.WriteLine("runner: -o fetches one job's artifacts: name the job");
                    return ExitCodes.InvalidInput;
                }

                Console.WriteLine($"{store.Fetch(runId, job, target)} files of job '{job}' written to {target}");
                return ExitCodes.Ok;
            }

            if (files.Count == 0)
            {
                Console.Error.WriteLine($"runner: run {runId} kept no artifacts (none of its jobs declares any, or they expired)");
                return ExitCodes.Ok;
            }

            foreach (var f in files)
            {
                Console.WriteLine($"{f.Job,-24} {Units.FormatBytes(f.Size),10}  {f.Path}{(f.LinkTarget is null ? "" : " -> " + f.LinkTarget)}  (kept until {f.Expires.ToLocalTime():yyyy-MM-dd HH:mm})");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
