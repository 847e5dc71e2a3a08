namespace Ci.Isolation.Cgroups;

public enum CgroupMode
{
    /// <summary>cgroup v2 only, mounted at /sys/fs/cgroup (most current distributions).</summary>
    Unified,

    /// <summary>cgroup v1 controllers, one hierarchy each, and no cgroup2 mount.</summary>
    Legacy,

    /// <summary>cgroup v1 controllers plus a cgroup2 mount without controllers (systemd "hybrid"). Limits go through v1.</summary>
    Hybrid,
}
