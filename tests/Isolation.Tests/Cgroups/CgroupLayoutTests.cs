using Ci.Isolation.Cgroups;

namespace Ci.Isolation.Tests.Cgroups;

public sealed class CgroupLayoutTests
{
    private const string Hybrid = """
        30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
        34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory
        38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
        40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
        """;

    private const string Unified = """
        22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
        26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        """;

    [Test]
    public void A_hybrid_host_uses_the_v1_controller_hierarchies()
    {
        var layout = CgroupLayout.Parse(Hybrid);

        Assert.That(layout.Mode, Is.EqualTo(CgroupMode.Hybrid));
        Assert.That(layout.V1Mounts["memory"], Is.EqualTo("/sys/fs/cgroup/memory"));
        Assert.That(layout.V1Mounts["cpuacct"], Is.EqualTo("/sys/fs/cgroup/cpu,cpuacct"), "co-mounted controllers share a hierarchy");
        Assert.That(layout.V1Mounts.ContainsKey("name=systemd"), Is.False);
        Assert.That(layout.UnifiedMount, Is.EqualTo("/sys/fs/cgroup/unified"));
    }

    [Test]
    public void A_v1_host_without_cgroup2_is_legacy() =>
        Assert.That(CgroupLayout.Parse(Hybrid.Replace("cgroup2 cgroup2", "tmpfs tmpfs", StringComparison.Ordinal)).Mode, Is.EqualTo(CgroupMode.Legacy));

    [Test]
    public void A_v2_host_is_unified()
    {
        var layout = CgroupLayout.Parse(Unified);

        Assert.That(layout.Mode, Is.EqualTo(CgroupMode.Unified));
        Assert.That(layout.UnifiedMount, Is.EqualTo("/sys/fs/cgroup"));
    }

    [Test]
    public void A_v1_host_missing_the_memory_controller_is_refused_with_the_reason()
    {
        var ex = Assert.Throws<CgroupUnavailableException>(() => CgroupLayout.Parse(Hybrid.Replace("rw,memory", "rw,blkio", StringComparison.Ordinal)));

        Assert.That(ex!.Message, Does.Contain("without the memory controller"));
    }

    [Test]
    public void No_cgroup_mount_at_all_is_refused() =>
        Assert.Throws<CgroupUnavailableException>(() => CgroupLayout.Parse("22 1 0:21 / /sys rw - sysfs sysfs rw\n"));

    [Test]
    [Category("Host")]
    public void The_mode_detected_here_agrees_with_the_file_system_type_of_sys_fs_cgroup()
    {
        var layout = CgroupLayout.Detect();
        var info = new DriveInfo("/sys/fs/cgroup");

        // statfs type: cgroup2 at /sys/fs/cgroup means unified; anything else (tmpfs) means v1 hierarchies below it.
        Assert.That(layout.Mode == CgroupMode.Unified, Is.EqualTo(info.DriveFormat == "cgroup2fs"), info.DriveFormat);
        foreach (var mount in layout.V1Mounts.Values)
        {
            Assert.That(Directory.Exists(mount), mount);
        }
    }
}
