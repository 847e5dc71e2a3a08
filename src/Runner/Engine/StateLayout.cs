namespace Ci.Runner.Engine;

/// <summary>
/// The runner's own places under the state directory, each named here once. The image store's
/// places (layers, images, blobs, containers, the built-in image) are Isolation's and are named
/// by its stores.
/// </summary>
public sealed record StateLayout(string Root)
{
    /// <summary>Each run's scratch space while it runs (step layers, caches' upper directories), removed after.</summary>
    public string RunScratch => Path.Combine(Root, "runs");

    /// <summary>The run records (SQLite): runs, jobs, steps, every line.</summary>
    public string RunRecords => Path.Combine(Root, "runs.db");

    /// <summary>The server's queue of runs to do (SQLite): what hooks asked for, before and while it runs.</summary>
    public string RunQueue => Path.Combine(Root, "queue.db");

    /// <summary>Artifacts kept with their runs until they expire.</summary>
    public string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>Workspace layers: committed trees by tree id, working-tree changes by digest.</summary>
    public string Checkouts => Path.Combine(Root, "checkouts");

    /// <summary>Bare mirrors of remote repositories.</summary>
    public string Mirrors => Path.Combine(Root, "mirrors");

    /// <summary>Layers of <c>cache: layer</c> steps, by key and scope.</summary>
    public string StepCache => Path.Combine(Root, "step-cache");

    /// <summary>Directory caches (<c>cache:</c>): their keys by scope and their layers.</summary>
    public string DirectoryCaches => Path.Combine(Root, "dir-cache");
}
