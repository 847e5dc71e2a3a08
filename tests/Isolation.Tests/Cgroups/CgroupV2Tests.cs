using Ci.Isolation.Cgroups;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Cgroups;

/// <summary>
/// The cgroup v2 files the runtime writes and reads, checked on a directory laid out like a v2
/// hierarchy: the build machine is a v1 hybrid host, so real v2 containers run only where CI has v2.
/// </summary>
public sealed class CgroupV2Tests
{
    private string _mount = null!;

    [SetUp]
    public void SetUp()
    {
        _mount = Directory.CreateTempSubdirectory("cg2-").FullName;
        File.WriteAllText(Path.Combine(_mount, "cgroup.subtree_control"), "cpu memory pids");
        Directory.CreateDirectory(Path.Combine(_mount, "runner"));
        File.WriteAllText(Path.Combine(_mount, "runner", "cgroup.subtree_control"), "cpu memory pids");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_mount, true);

    [Test]
    public void Limits_are_written_in_v2_form()
    {
        var cgroup = ContainerCgroup.For(new CgroupLayout(CgroupMode.Unified, _mount, new Dictionary<string, string>()), "c1");

        cgroup.Create(new ContainerLimits(MilliCpus: 500, MemoryBytes: 256L << 20, Pids: 64));

        var dir = Path.Combine(_mount, "runner", "c1");
        Assert.That(File.ReadAllText(Path.Combine(dir, "cpu.max")), Is.EqualTo("50000 100000"));
        Assert.That(File.ReadAllText(Path.Combine(dir, "memory.max")), Is.EqualTo("268435456"));
        Assert.That(File.ReadAllText(Path.Combine(dir, "memory.swap.max")), Is.EqualTo("0"), "no swap unless asked");
        Assert.That(File.ReadAllText(Path.Combine(dir, "pids.max")), Is.EqualTo("64"));
        Assert.That(cgroup.ProcsFiles, Is.EqualTo(new[] { Path.Combine(dir, "cgroup.procs") }));
    }

    [TestCase(2, 1)]
    [TestCase(1024, 100)]
    [TestCase(262144, 10000)]
    [TestCase(512, 59)]
    public void Cpu_shares_map_to_weights_as_runc_maps_them(int shares, long weight) =>
        Assert.That(CgroupV2.SharesToWeight(shares), Is.InRange(weight - 1, weight + 1));

    [Test]
    public void Stats_are_read_from_memory_events_peak_and_cpu_stat()
    {
        var cgroup = ContainerCgroup.For(new CgroupLayout(CgroupMode.Unified, _mount, new Dictionary<string, string>()), "c2");
        cgroup.Create(new ContainerLimits());
        var dir = Path.Combine(_mount, "runner", "c2");
        File.WriteAllText(Path.Combine(dir, "memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
        File.WriteAllText(Path.Combine(dir, "memory.peak"), "268435456\n");
        File.WriteAllText(Path.Combine(dir, "cpu.stat"), "usage_usec 1500000\nuser_usec 1400000\nsystem_usec 100000\nnr_periods 30\nnr_throttled 28\nthrottled_usec 1450000\n");

        var stats = cgroup.ReadStats();

        Assert.That(stats, Is.EqualTo(new CgroupStats(1, 268435456, TimeSpan.FromSeconds(1.5), 28, TimeSpan.FromSeconds(1.45))));
    }
}
