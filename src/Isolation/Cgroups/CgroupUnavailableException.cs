namespace Ci.Isolation.Cgroups;

/// <summary>The host has no cgroup set-up the runtime can use to limit containers.</summary>
public sealed class CgroupUnavailableException(string message) : Exception(message);
