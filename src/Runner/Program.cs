using System.CommandLine;
using Ci.Runner.Cli;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Ci.Runner;

/// <summary>The composition root: builds the verbs, sets up logging, maps failures to exit codes.</summary>
public static class Program
{
    private const int DiskFull = 28, QuotaExceeded = 122; // ENOSPC, EDQUOT: .NET's IOException carries the errno

    public static async Task<int> Main(string[] args)
    {
        if (args is ["--version"])
        {
            // What System.CommandLine prints, without building every verb first: scripts ask this to see which runner they have.
            // A constant written at build (Runner.csproj): reading the assembly's attribute woke reflection's assembly binder
            // and type loader, a sixth of the verb's page faults.
            Console.Out.WriteLine(BuildVersion.Informational);
            return 0;
        }

        NativeParts.Install();
        // Every secret a verb reads is added here, and the diagnostic log masks them as the run's view does.
        var secrets = new Ci.Pipeline.Secrets.SecretMasker();
        using var host = new RunnerHost();
        var root = new RootCommand("runner: run CI pipelines locally or as a service, every step in a fresh container, no daemon");
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(PlanCommand.Create());
        root.Subcommands.Add(ExecCommand.Create(host, secrets));
        root.Subcommands.Add(RunCommand.Create(host));
        root.Subcommands.Add(ImageCommand.Create(host));
        root.Subcommands.Add(RunsCommand.Create(host));
        root.Subcommands.Add(LogsCommand.Create(host));
        root.Subcommands.Add(ArtifactsCommand.Create(host));
        root.Subcommands.Add(ServeCommand.Create(secrets));
        GlobalOptions.AddTo(root);

        var parse = root.Parse(args);
        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Is(GlobalOptions.IsVerbose(parse) ? LogEventLevel.Debug : LogEventLevel.Warning)
            .WriteTo.Sink(new Output.MaskedLogSink(secrets, Console.Error,
                new MessageTemplateTextFormatter("{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}")))
            .CreateLogger();
        try
        {
            if (parse.Errors.Count > 0)
            {
                foreach (var error in parse.Errors)
                {
                    await Console.Error.WriteLineAsync($"runner: {Plain(error.Message)}");
                }

                // A mistyped verb (runner exce): name the verb it is nearest to.
                if (args.Length > 0 && parse.CommandResult.Command == root && !args[0].StartsWith('-')
                    && Ci.Pipeline.Parsing.Suggestions.Nearest(args[0], root.Subcommands.Select(c => c.Name)) is { } verb)
                {
                    await Console.Error.WriteLineAsync($"Did you mean 'runner {verb}'?");
                }

                await Console.Error.WriteLineAsync($"See 'runner {string.Join(' ', parse.CommandResult.Command.Name == root.Name ? "" : parse.CommandResult.Command.Name)} --help'.".Replace("runner  --", "runner --", StringComparison.Ordinal));
                return ExitCodes.InvalidInput;
            }

            // Our own interrupt handling (graceful, then forceful), not System.CommandLine's, which ends the process after 2 s.
            Interrupts.Install();
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, Interrupts.Graceful);
        }
        catch (Exception ex) when (ex.GetBaseException() is IOException { HResult: DiskFull or QuotaExceeded } full)
        {
            // Every store writes to a temporary name and renames, so what is there is whole: the user needs to know what to free.
            // Seen through what .NET wraps it in: a native library unpacked on first use fails inside a type initializer.
            await Console.Error.WriteLineAsync($"runner: the disk is full ({full.Message}); nothing half-written was kept. " +
                "Free space, for instance with 'runner image prune' or a lower RUNNER_STORE_LIMIT, and try again.");
            return ExitCodes.InternalError;
        }
        catch (Settings.SettingsException ex)
        {
            await Console.Error.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (Exception ex)
        {
            Log.Fatal(ex, "Internal error");
            await Console.Error.WriteLineAsync($"runner: internal error: {ex.Message}");
            return ExitCodes.InternalError;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }

    /// <summary>A parse error in the user's words: "--limit: 'abc' is not a whole number", not a .NET type name.</summary>
    private static string Plain(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "^Cannot parse argument '(.*)' for (option|command) '(.*)' as expected type 'System\\.(Int32|Int64|Double)'\\.$");
        if (!match.Success)
        {
            return message;
        }

        var what = match.Groups[4].Value == "Double" ? "a number" : "a whole number";
        return $"{match.Groups[3].Value}: '{match.Groups[1].Value}' is not {what}"; // an option's name, or the verb's for an argument
    }
}
