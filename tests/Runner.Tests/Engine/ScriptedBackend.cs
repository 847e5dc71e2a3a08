using System.Collections.Concurrent;
using System.Globalization;
using Ci.Pipeline.Plan;
using Ci.Runner.Engine;

namespace Ci.Runner.Tests.Engine;

/// <summary>
/// A step backend for the engine's tests. A step's script is read by this backend, not a shell,
/// as words separated by <c>;</c>: <c>sleep MS</c>, <c>exit N</c>, <c>print TEXT</c>,
/// <c>wait GATE</c> (until the test calls <see cref="Release"/>), <c>oom</c> and <c>timeout</c>
/// (reported as the runtime reports them), <c>unsupported</c> (a <see cref="BackendException"/>),
/// <c>infra</c> (one that is an infrastructure failure) and <c>throw</c> (a bug: any other
/// exception). Jobs named in <see cref="FailToStart"/> fail to start. Every call is recorded in
/// order; a job with artifacts keeps a set named after it.
/// </summary>
internal sealed class ScriptedBackend : IStepBackend, IInteractiveBackend
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new(StringComparer.Ordinal);
    private int _running;

    public ConcurrentQueue<string> Events { get; } = new();

    public int MaxConcurrentJobs { get; private set; }

    /// <summary>Jobs whose start fails with an infrastructure failure.</summary>
    public HashSet<string> FailToStart { get; init; } = [];

    public bool Disposed { get; private set; }

    private sealed record Handle(PlannedJob Job) : IJobHandle;

    /// <summary>Lets every step waiting on <paramref name="name"/> go on.</summary>
    public void Release(string name) => Gate(name).TrySetResult();

    /// <summary>Completes when a step starts waiting on <paramref name="name"/>... or has already been released.</summary>
    private TaskCompletionSource Gate(string name) => _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public Task<IJobHandle> StartJobAsync(JobStart start, CancellationToken cancellationToken)
    {
        var job = start.Job;
        if (FailToStart.Contains(job.Id))
        {
            Events.Enqueue($"refused {job.Id}");
            throw new BackendException($"cannot start {job.Id}: no such image", infrastructure: true);
        }

        lock (_gate)
        {
            _running++;
            MaxConcurrentJobs = Math.Max(MaxConcurrentJobs, _running);
        }

        Events.Enqueue(start.NeededArtifacts.Count == 0 ? $"start {job.Id}" : $"start {job.Id} with {string.Join(",", start.NeededArtifacts.Select(a => a.Location))}");
        return Task.FromResult<IJobHandle>(new Handle(job));
    }

    public async Task<StepOutcome> RunStepAsync(IJobHandle job, PlannedStep step, int attempt, Action<StepOutput> output, CancellationToken cancellationToken)
    {
        var id = ((Handle)job).Job.Id;
        Events.Enqueue($"run {id}/{step.Index} attempt {attempt}");
        var outcome = new StepOutcome(0, null, false, false, TimeSpan.Zero, TimeSpan.Zero, 0);
        foreach (var part in step.Script.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var words = part.Split(' ', 2);
            var argument = words.Length > 1 ? words[1] : "";
            switch (words[0])
            {
                case "sleep":
                    await Task.Delay(int.Parse(argument, CultureInfo.InvariantCulture), cancellationToken);
                    break;
                case "wait":
                    await Gate(argument).Task.WaitAsync(cancellationToken);
                    break;
                case "print":
                    output(new StepOutput(false, argument));
                    break;
                case "exit":
                    outcome = outcome with { ExitCode = int.Parse(argument, CultureInfo.InvariantCulture) };
                    break;
                case "oom":
                    outcome = outcome with { ExitCode = null, Signal = 9, OomKilled = true };
                    break;
                case "timeout":
                    outcome = outcome with { ExitCode = null, Signal = 9, TimedOut = true };
                    break;
                case "unsupported":
                    throw new BackendException($"step {step.Index}: not supported here", infrastructure: false);
                case "infra":
                    throw new BackendException($"step {step.Index}: the machine failed", infrastructure: true);
                case "throw":
                    throw new InvalidOperationException($"a bug in step {step.Index}");
            }
        }

        Events.Enqueue($"step {id}/{step.Index} exit {outcome.ShellExitCode}");
        return outcome;
    }

    public Task ReproduceAsync(IJobHandle job, PlannedStep step, CancellationToken cancellationToken)
    {
        Events.Enqueue($"shell {((Handle)job).Job.Id}:{step.Index}");
        return Task.CompletedTask;
    }

    public Task<ArtifactSet?> FinishJobAsync(IJobHandle job, bool succeeded, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _running--;
        }

        var planned = ((Handle)job).Job;
        Events.Enqueue($"finish {planned.Id}");
        return Task.FromResult(planned.Artifacts is null ? null : new ArtifactSet(planned.Id, $"kept-by-{planned.Id}", 1));
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
