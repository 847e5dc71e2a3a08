namespace Ci.Isolation.Cgroups;

/// <summary>What a container's cgroup counted, read before the cgroup is removed.</summary>
public sealed record CgroupStats(long OomKills, long PeakMemoryBytes, TimeSpan CpuTime, long ThrottledPeriods, TimeSpan ThrottledTime);
