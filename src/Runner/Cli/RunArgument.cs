using System.CommandLine;
using Ci.Runner.Engine.Records;

namespace Ci.Runner.Cli;

/// <summary>The RUN argument of the verbs that read the run record (logs, artifacts): a run's number, or "last".</summary>
internal static class RunArgument
{
    public static Argument<string> Create() => new("run") { Description = "The run's number (see 'runner runs'), or 'last'" };

    /// <summary>The run's number in the record; null after saying, on stderr, that there is no such run.</summary>
    public static long? Find(IRunRecords store, string wanted)
    {
        if (store.FindRun(wanted) is { } runId)
        {
            return runId;
        }

        Console.Error.WriteLine(wanted == "last" ? "runner: no run is recorded yet" : $"runner: there is no run '{wanted}' (see 'runner runs')");
        return null;
    }
}
