namespace Ci.Runner.Engine;

/// <summary>What a run's backend is given when the engine makes it: everything that is the run's, not a job's.</summary>
/// <param name="Secrets">The values of the pipeline's secrets, by name, for the steps' environments.</param>
/// <param name="CacheScope">Whose caches the run reads and writes (its repository and branch).</param>
/// <param name="Report">For notices (a cache restored, a pull); thread-safe.</param>
public sealed record RunContext(long RunId, IReadOnlyDictionary<string, string> Secrets, CacheScope CacheScope, Action<RunEvent> Report, RunStop Stop)
{
    /// <summary>Told when an interactive session starts (true) and ends (false): the host's terminal is then the session's.</summary>
    public Action<bool>? InteractiveSession { get; init; }
}

/// <summary>Makes a backend for each run; a host holds one factory for its life.</summary>
public interface IStepBackendFactory
{
    /// <summary>Throws <see cref="BackendException"/> (an infrastructure failure) when this machine cannot run steps.</summary>
    IStepBackend Create(RunContext context);
}
