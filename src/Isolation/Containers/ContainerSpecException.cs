namespace Ci.Isolation.Containers;

/// <summary>The container asked for cannot be made in its image (a mount target behind a symbolic link): the user's input to change, not a fault of the host.</summary>
public sealed class ContainerSpecException(string message) : IsolationException(message);
