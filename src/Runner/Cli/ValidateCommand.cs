using System.CommandLine;
using Ci.Pipeline.Compilation;
using Ci.Pipeline.Plan;
using Ci.Runner.Output;
using Serilog;

namespace Ci.Runner.Cli;

/// <summary><c>runner validate</c>: reports every diagnostic of a pipeline file; exit 2 when there are errors.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var command = new Command("validate", "Check a pipeline file and report every problem with its file, line and column");
        PipelineOptions.AddTo(command);
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var (root, file) = PipelineOptions.Resolve(parse);
        if (PipelineOptions.NotARegularFile(root, file) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return ExitCodes.InvalidInput;
        }

        Log.Debug("Validating {File} in {Root}", file, root);
        using var source = PipelineSource.Open(root, parse.GetValue(PipelineOptions.Worktree), "runner validate checks");
        if (source.Note is { } note)
        {
            Console.Error.WriteLine(note);
        }

        var result = PipelineCompiler.Compile(source.Tree, file, new TriggerContext());
        var errors = result.Errors.Count();
        var warnings = result.Diagnostics.Count - errors;
        if (parse.GetValue(GlobalOptions.Json))
        {
            JsonOutput.Write(Console.Out, new ValidateOutput(file, result.Succeeded, errors, warnings, result.Plan?.Jobs.Count,
                result.Diagnostics.Select(DiagnosticOutput.From).ToList()));
        }
        else
        {
            foreach (var d in result.Diagnostics)
            {
                Console.Out.WriteLine(d);
            }

            Console.Out.WriteLine(result.Succeeded
                ? $"{file}: valid, {result.Plan!.Jobs.Count} job{(result.Plan.Jobs.Count == 1 ? "" : "s")}{(warnings > 0 ? $", {warnings} warning{(warnings == 1 ? "" : "s")}" : "")}"
                : $"{file}: {errors} error{(errors == 1 ? "" : "s")}{(warnings > 0 ? $", {warnings} warning{(warnings == 1 ? "" : "s")}" : "")}");
        }

        return result.Succeeded ? ExitCodes.Ok : ExitCodes.InvalidInput;
    }
}
