using Ci.Isolation.Processes;
using Ci.Runner.Engine;
namespace Ci.Runner.Backends.Containers;

/// <summary>
/// STATE/runs/NAME: a run's scratch space (step layers, caches' upper directories, artifacts),
/// removed when the run ends. Its name ends with its runner's pid, so that the next run removes
/// what a killed runner left (and never a directory being made: the name exists before its content).
/// </summary>
public static class RunDirectories
{
    /// <param name="label">Says which run it is (run12); no '-'.</param>
    public static string Create(string stateDirectory, string label)
    {
        var runs = Directory.CreateDirectory(new StateLayout(stateDirectory).RunScratch).FullName;
        RemoveAbandoned(runs);
        return Directory.CreateDirectory(Path.Combine(runs, $"{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}-{label}-{ProcessIdentity.Current.Token}")).FullName;
    }

    private static void RemoveAbandoned(string runs)
    {
        foreach (var dir in Directory.EnumerateDirectories(runs))
        {
            if (!ProcessIdentity.IsAliveToken(Path.GetFileName(dir).Split('-')[^1]))
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                    // Still in use after all (a pid reused at once); the next run tries again.
                }
            }
        }
    }
}
