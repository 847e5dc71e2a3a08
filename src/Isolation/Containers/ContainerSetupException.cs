namespace Ci.Isolation.Containers;

/// <summary>
/// The host could not make a container: runner-init's failed call, kept whole across the process
/// boundary (<see cref="Operation"/>: <c>mount(overlay → /x)</c>, and its <see cref="Errno"/>),
/// so a caller can tell a full disk from a missing kernel feature without parsing the message.
/// </summary>
public sealed class ContainerSetupException(string message, string? operation, int? errno) : IsolationException(message)
{
    public string? Operation { get; } = operation;

    public int? Errno { get; } = errno;
}
