using System.CommandLine;
using System.Globalization;
using Ci.Pipeline.Values;
using Ci.Runner.Output;

namespace Ci.Runner.Cli;

/// <summary><c>runner runs</c>: the recorded runs, newest first.</summary>
internal static class RunsCommand
{
    private static readonly Option<int> Limit = new("--limit", "-n") { Description = "How many runs to list (default 20)", DefaultValueFactory = _ => 20 };

    public static Command Create(RunnerHost host)
    {
        var command = new Command("runs", "List recorded runs, newest first");
        command.Options.Add(Limit);
        command.Options.Add(ServerClient.Server);
        command.SetAction((parse, ct) => parse.GetValue(ServerClient.Server) is { } server
            ? ServerClient.RunsAsync(server, Math.Max(1, parse.GetValue(Limit)), parse.GetValue(GlobalOptions.Json), ct)
            : Task.FromResult(Local(host, parse)));
        return command;
    }

    private static int Local(RunnerHost host, ParseResult parse)
    {
        var runs = host.Records.ListRuns(Math.Max(1, parse.GetValue(Limit)));
        if (parse.GetValue(GlobalOptions.Json))
        {
            JsonOutput.Write(Console.Out, runs.ToList());
            return ExitCodes.Ok;
        }

        var table = new TextTable(["RUN", "STARTED", "STATUS", "TIME", "JOBS", "COMMIT", "BRANCH", "REPOSITORY"], 0, 3);
        foreach (var r in runs)
        {
            var time = r.Finished is { } end ? Units.FormatDuration(end - r.Started) : "";
            var jobs = r.JobsFailed > 0 ? $"{r.JobsPassed} ok, {r.JobsFailed} failed" : $"{r.JobsPassed} ok";
            table.Add(r.Id.ToString(CultureInfo.InvariantCulture), r.Started.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                r.Status, time, jobs, r.Commit[..Math.Min(8, r.Commit.Length)], r.Branch, r.Repository);
        }

        table.WriteTo(Console.Out);
        return ExitCodes.Ok;
    }
}
