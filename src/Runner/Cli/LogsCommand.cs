using System.CommandLine;
using Ci.Runner.Engine.Records;

namespace Ci.Runner.Cli;

/// <summary><c>runner logs RUN [JOB [STEP]]</c> or <c>runner logs RUN JOB --service NAME</c>: a recorded run's output, as it was printed (secrets masked).</summary>
internal static class LogsCommand
{
    private static readonly Argument<string> Run = RunArgument.Create();
    private static readonly Argument<string?> Job = new("job") { Description = "Only this job", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Argument<int?> Step = new("step") { Description = "Only this step (its number, from 1)", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<bool> Timestamps = new("--timestamps", "-t") { Description = "Prefix each line with the time it was printed" };
    private static readonly Option<string> Service = new("--service", "-s") { Description = "The output of this service of JOB (its alias) instead of the steps'" };

    public static Command Create(RunnerHost host)
    {
        var command = new Command("logs", "Print a recorded run's output, or one job's or one step's");
        command.Arguments.Add(Run);
        command.Arguments.Add(Job);
        command.Arguments.Add(Step);
        command.Options.Add(Timestamps);
        command.Options.Add(Service);
        command.Options.Add(ServerClient.Server);
        command.SetAction((parse, ct) => parse.GetValue(ServerClient.Server) is { } server
            ? ServerClient.LogsAsync(server, parse.GetValue(Run)!, parse.GetValue(Job), parse.GetValue(Step), ct)
            : Task.FromResult(Local(host, parse)));
        return command;
    }

    private static int Local(RunnerHost host, ParseResult parse)
    {
        var store = host.Records;
        if (RunArgument.Find(store, parse.GetValue(Run)!) is not { } runId)
        {
            return ExitCodes.InvalidInput;
        }

        var job = parse.GetValue(Job);
        var step = parse.GetValue(Step);
        var steps = store.Steps(runId);
        var jobs = store.Jobs(runId);
        var names = jobs.Select(j => j.Job).Concat(steps.Select(s => s.Job)).Distinct().ToList();
        if (job is not null && names.Count > 0 && !names.Contains(job))
        {
            Console.Error.WriteLine($"runner: run {runId} has no job '{job}'; its jobs: {string.Join(", ", names)}");
            return ExitCodes.InvalidInput;
        }

        if (step is { } n && steps.Count > 0 && !steps.Any(s => s.Job == job && s.Index == n))
        {
            Console.Error.WriteLine($"runner: job '{job}' of run {runId} has no step {n}; its steps: {string.Join(", ", steps.Where(s => s.Job == job).Select(s => $"{s.Index}. {s.Name}"))}");
            return ExitCodes.InvalidInput;
        }

        var withTime = parse.GetValue(Timestamps);
        if (parse.GetValue(Service) is { } service)
        {
            return PrintService(store, runId, job, step, service, withTime);
        }

        foreach (var line in store.Logs(runId, job, step))
        {
            var text = $"{(withTime ? line.Time.ToLocalTime().ToString("HH:mm:ss.fff ") : "")}[{line.Job}:{line.Step}] {Engine.TerminalText.Neutralise(line.Text)}";
            (line.IsError ? Console.Error : Console.Out).WriteLine(text);
        }

        // Why a job ended without passing, which its lines may not say: a pull that failed, a refused setting, a timeout.
        if (step is null)
        {
            foreach (var ended in jobs.Where(j => (job is null || j.Job == job) && j.Reason is not null && j.Status is "failed" or "skipped"))
            {
                Console.Error.WriteLine($"==> {ended.Job}: {ended.Status}: {Engine.TerminalText.Neutralise(ended.Reason!)}");
            }

            if (jobs.Count == 0 && job is null)
            {
                Console.Error.WriteLine($"==> run {runId} ran no job");
            }
        }

        return ExitCodes.Ok;
    }

    private static int PrintService(IRunRecords store, long runId, string? job, int? step, string service, bool withTime)
    {
        if (job is null || step is not null)
        {
            Console.Error.WriteLine($"runner: --service {service} needs the job it belongs to, and no step: runner logs {runId} JOB --service {service}");
            return ExitCodes.InvalidInput;
        }

        var services = store.Services(runId, job);
        if (!services.Contains(service))
        {
            Console.Error.WriteLine(services.Count == 0
                ? $"runner: job '{job}' of run {runId} kept no service output"
                : $"runner: job '{job}' of run {runId} has no service '{service}' that printed anything; its services: {string.Join(", ", services)}");
            return ExitCodes.InvalidInput;
        }

        foreach (var line in store.Logs(runId, job, null, service))
        {
            var text = $"{(withTime ? line.Time.ToLocalTime().ToString("HH:mm:ss.fff ") : "")}[{line.Job}:{service}] {Engine.TerminalText.Neutralise(line.Text)}";
            (line.IsError ? Console.Error : Console.Out).WriteLine(text);
        }

        return ExitCodes.Ok;
    }
}
