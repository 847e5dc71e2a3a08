using Ci.Isolation.Containers;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;

namespace Ci.Runner.Backends.Containers;

/// <summary>
/// The network a job's containers share, by its mode: <c>bridge</c> (the default) a namespace with
/// a private address and NAT egress, the host and link-local addresses out of reach; <c>none</c> a
/// namespace with loopback only; <c>host</c> the host's own. A step that names another mode runs
/// in a network of its own for that step alone: the job's services are not reachable from it.
/// </summary>
internal static class JobNetwork
{
    /// <summary>The job's shared namespace; null for <c>host</c>.</summary>
    public static async Task<NetworkNamespace?> CreateAsync(ContainerRuntime runtime, NetworkMode mode, CancellationToken cancellationToken) => mode switch
    {
        NetworkMode.Bridge => await runtime.CreateBridgedNetworkAsync([], cancellationToken),
        NetworkMode.None => await runtime.CreateNetworkNamespaceAsync(cancellationToken),
        _ => null,
    };

    /// <summary>Whether <paramref name="step"/> leaves the job's network.</summary>
    public static bool OwnFor(PlannedJob job, PlannedStep step) => step.Network is { } mode && mode != job.Network;

    /// <summary>The container network of a step: the job's namespace, or (<see cref="OwnFor"/>) <paramref name="own"/>, the step's.</summary>
    public static ContainerNetwork For(NetworkMode mode, NetworkNamespace? shared) => mode switch
    {
        NetworkMode.Host => ContainerNetwork.Host,
        _ when shared is not null => ContainerNetwork.Shared(shared),
        _ => ContainerNetwork.None,
    };
}
