using Ci.Isolation.Containers;

namespace Ci.Isolation.Registry;

/// <summary>A registry refused, failed, or sent something that does not verify. The message names the registry, the object and the cause.</summary>
public sealed class RegistryException(string message, Exception? inner = null) : IsolationException(message, inner)
{
    /// <summary>Worth another attempt: the transfer went wrong (a blob that does not hash to its digest), not the request.</summary>
    public bool Transient { get; init; }
}
