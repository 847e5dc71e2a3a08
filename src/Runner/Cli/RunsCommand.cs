using System.CommandLine;
using Ci.Pipeline.Values;
using Ci.Runner.Output;
using Ci.Runner.Records;
using Ci.Runner.Settings;

namespace Ci.Runner.Cli;

/// <summary><c>runner runs</c>: the recorded runs, newest first.</summary>
internal static class RunsCommand
{
    private static readonly Option<int> Limit = new("--limit", "-n") { Description = "How many runs to list (default 20)", DefaultValueFactory = _ => 20 };

    public static Command Create()
    {
        var command = new Command("runs", "List recorded runs, newest first");
        command.Options.Add(Limit);
        command.SetAction(parse =>
        {
            var runs = RunStore.Open(RunnerSettings.FromEnvironment().StateDirectory).ListRuns(Math.Max(1, parse.GetValue(Limit)));
            if (parse.GetValue(GlobalOptions.Json))
            {
                JsonOutput.Write(Console.Out, runs.ToList());
                return ExitCodes.Ok;
            }

            Console.WriteLine($"{"RUN",5}  {"STARTED",-19}  {"STATUS",-12} {"TIME",8}  {"JOBS",-12} {"COMMIT",-8}  {"BRANCH",-16} REPOSITORY");
            foreach (var r in runs)
            {
                var time = r.Finished is { } end ? Units.FormatDuration(end - r.Started) : "";
                var jobs = r.JobsFailed > 0 ? $"{r.JobsPassed} ok, {r.JobsFailed} failed" : $"{r.JobsPassed} ok";
                Console.WriteLine($"{r.Id,5}  {r.Started.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {r.Status,-12} {time,8}  {jobs,-12} {r.Commit[..Math.Min(8, r.Commit.Length)],-8}  {r.Branch,-16} {r.Repository}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
