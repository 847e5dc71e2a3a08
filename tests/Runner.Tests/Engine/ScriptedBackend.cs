using System.Collections.Concurrent;
using Ci.Pipeline.Plan;
using Ci.Runner.Engine;
using Ci.Runner.Records;
using Ci.Runner.Sources;

namespace Ci.Runner.Tests.Engine;

/// <summary>
/// A step backend for scheduler tests: each step "runs" for the time its script names and exits
/// with the code it names (<c>sleep 50; exit 3</c> style, read by this backend, not a shell), and
/// every call is recorded in order.
/// </summary>
internal sealed class ScriptedBackend : IStepBackend
{
    private readonly object _gate = new();
    private int _running;

    public ConcurrentQueue<string> Events { get; } = new();

    public int MaxConcurrentJobs { get; private set; }

    private sealed record Handle(PlannedJob Job) : IJobHandle;

    public Task<IJobHandle> StartJobAsync(PlannedJob job, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _running++;
            MaxConcurrentJobs = Math.Max(MaxConcurrentJobs, _running);
        }

        Events.Enqueue($"start {job.Id}");
        return Task.FromResult<IJobHandle>(new Handle(job));
    }

    public async Task<StepOutcome> RunStepAsync(IJobHandle job, PlannedStep step, Action<StepOutput> output, CancellationToken cancellationToken)
    {
        var sleep = 0;
        var exit = 0;
        foreach (var part in step.Script.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var words = part.Split(' ');
            if (words[0] == "sleep")
            {
                sleep = int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (words[0] == "exit")
            {
                exit = int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        await Task.Delay(sleep, cancellationToken);
        Events.Enqueue($"step {job.Job.Id}/{step.Index} exit {exit}");
        return new StepOutcome(exit, null, false, false, TimeSpan.FromMilliseconds(sleep), TimeSpan.Zero, 0);
    }

    public Task ReproduceAsync(IJobHandle job, PlannedStep step, CancellationToken cancellationToken)
    {
        Events.Enqueue($"shell {job.Job.Id}:{step.Index}");
        return Task.CompletedTask;
    }

    public Task FinishJobAsync(IJobHandle job, bool succeeded)
    {
        lock (_gate)
        {
            _running--;
        }

        Events.Enqueue($"finish {job.Job.Id}");
        return Task.CompletedTask;
    }
}
