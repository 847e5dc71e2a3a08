using Ci.Isolation.Cgroups;
using Ci.Isolation.Processes;

namespace Ci.Isolation.Containers;

public sealed partial class ContainerRuntime
{
    private const string OwnerFile = "owner";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _cleanups = new();

    /// <summary>
    /// Waits for the clean-ups that <see cref="RuntimeOptions.DeferCleanup"/> left running: after
    /// it, no container of this runtime has a directory or a cgroup. Call it before removing
    /// anything those containers used (their upper directories' parents) and before exiting.
    /// </summary>
    public async Task DrainAsync()
    {
        while (_cleanups.Keys.ToArray() is { Length: > 0 } pending)
        {
            await Task.WhenAll(pending);
        }
    }

    /// <summary>Runs a container's clean-up in the background; a failure is logged (a later runtime removes what is left, as after a crash).</summary>
    private void Defer(Action cleanup)
    {
        var task = Task.Run(() =>
        {
            try
            {
                cleanup();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CgroupUnavailableException)
            {
                _log.Warning("A container's clean-up failed: {Message}; the next runner start removes what is left", ex.Message);
            }
        });
        _cleanups[task] = 0;
        _ = task.ContinueWith(t => _cleanups.TryRemove(t, out _), TaskScheduler.Default);
    }

    private void Cleanup(string id, string dir, ContainerCgroup cgroup, string? keptUpper)
    {
        try
        {
            cgroup.KillAll();
            cgroup.Remove();
        }
        finally
        {
            if (keptUpper is not null)
            {
                DeleteTree(keptUpper.TrimEnd('/') + ".work");
            }

            DeleteTree(dir);
            _log.Debug("Removed container {Id}", id);
        }
    }

    /// <summary>Removes the directories and cgroups of containers whose runner is gone (killed, crashed, power lost).</summary>
    private void RemoveLeftovers()
    {
        foreach (var dir in Directory.EnumerateDirectories(ContainersDirectory))
        {
            var ownerFile = Path.Combine(dir, OwnerFile);
            ProcessIdentity? owner = File.Exists(ownerFile) && ProcessIdentity.TryParse(File.ReadAllText(ownerFile), out var o) ? o : null;
            if (owner is { IsAlive: true })
            {
                continue;
            }

            var id = Path.GetFileName(dir);
            _log.Information("Removing container {Id} left behind by runner {Pid}", id, owner?.Pid);
            var cgroup = ContainerCgroup.For(_cgroups, id, _options.CgroupParent);
            cgroup.KillAll();
            cgroup.Remove();
            DeleteTree(dir);
        }

        // Network namespaces of runners that are gone: n/OWNER/ID files, kept while that runner lives.
        foreach (var owner in Directory.Exists(NetworksDirectory) ? Directory.EnumerateDirectories(NetworksDirectory) : [])
        {
            if (ProcessIdentity.TryParse(Path.GetFileName(owner), out var runner) && runner.IsAlive && !runner.IsCurrent)
            {
                continue;
            }

            // First the namespaces (the kernel removes their veth pairs and routes), then the CNI attachments of those that had
            // one (leases, port rules), from their records: also of a namespace removed before its release failed or was cut short.
            foreach (var file in Directory.EnumerateFiles(owner).Where(f => !Networking.BridgedNetworks.IsRecord(f)))
            {
                _log.Information("Removing network namespace {Id} left behind by runner {Owner}", Path.GetFileName(file), Path.GetFileName(owner));
                NetworkNamespace.Remove(file);
            }

            foreach (var record in Directory.EnumerateFiles(owner).Where(Networking.BridgedNetworks.IsRecord))
            {
                var ns = Networking.BridgedNetworks.NamespaceOf(record);
                try
                {
                    _networks.RemoveLeftover(ns);
                }
                catch (IsolationException ex)
                {
                    _log.Warning("Could not release the network of {Id}: {Message}", Path.GetFileName(ns), ex.Message);
                }

                File.Delete(record);
            }

            Directory.Delete(owner);
        }

        // Temporaries of stores whose writer is gone (a pull, import or checkout killed, or out of space).
        foreach (var store in Images.StoreDirectory.AbandonedTemporaryPlaces)
        {
            if (Images.StoreDirectory.RemoveAbandoned(Path.Combine(_options.StateDirectory, store)) is > 0 and var n)
            {
                _log.Information("Removed {Count} abandoned temporaries from {Store}", n, store);
            }
        }
    }

    private static void DeleteTree(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
