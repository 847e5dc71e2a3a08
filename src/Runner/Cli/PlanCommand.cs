using System.CommandLine;
using Ci.Pipeline.Compilation;
using Ci.Runner.Output;
using Serilog;

namespace Ci.Runner.Cli;

/// <summary><c>runner plan</c>: compiles a pipeline for a trigger and prints what would run, as a tree or JSON.</summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var command = new Command("plan", "Show the jobs and steps a pipeline would run for a trigger, with images, limits, caches and skips");
        PipelineOptions.AddTo(command);
        TriggerOptions.AddTo(command);
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

        var trigger = TriggerOptions.Read(parse, root);
        Log.Debug("Planning {File} in {Root} for {Event} on {Branch}", file, root, trigger.Event, trigger.Branch);
        using var source = PipelineSource.Open(root, parse.GetValue(PipelineOptions.Worktree), "runner plan shows");
        if (source.Note is { } note)
        {
            Console.Error.WriteLine(note);
        }

        var result = PipelineCompiler.Compile(source.Tree, file, trigger);
        var json = parse.GetValue(GlobalOptions.Json);
        if (!result.Succeeded)
        {
            if (json)
            {
                JsonOutput.Write(Console.Out, new PlanOutput(file, false, result.Diagnostics.Select(DiagnosticOutput.From).ToList(), null));
            }
            else
            {
                foreach (var d in result.Diagnostics)
                {
                    Console.Error.WriteLine(d);
                }
            }

            return ExitCodes.InvalidInput;
        }

        if (json)
        {
            JsonOutput.Write(Console.Out, new PlanOutput(file, true, result.Diagnostics.Select(DiagnosticOutput.From).ToList(), result.Plan));
        }
        else
        {
            foreach (var d in result.Diagnostics)
            {
                Console.Error.WriteLine(d);
            }

            PlanTreePrinter.Print(Console.Out, result.Plan!);
        }

        return ExitCodes.Ok;
    }
}
