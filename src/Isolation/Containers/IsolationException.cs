namespace Ci.Isolation.Containers;

/// <summary>The runtime could not make or clean up a container (an infrastructure failure, not the command's).</summary>
public class IsolationException(string message, Exception? inner = null) : Exception(message, inner);
