using Ci.Isolation.Cgroups;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Cgroups;

/// <summary>The cgroup v1 files the runtime writes, on a tree shaped like per-controller hierarchies (real ones are exercised by the container tests).</summary>
public sealed class CgroupV1Tests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("cg1-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, true);

    [Test]
    public void Limits_are_written_to_each_controllers_hierarchy()
    {
        var mounts = new[] { "cpu", "cpuacct", "memory", "pids", "devices" }.ToDictionary(c => c, c => Directory.CreateDirectory(Path.Combine(_root, c)).FullName);
        var cgroup = ContainerCgroup.For(new CgroupLayout(CgroupMode.Hybrid, null, mounts), "c1");

        cgroup.Create(new ContainerLimits(MilliCpus: 1500, MemoryBytes: 512L << 20, Pids: 100, CpuShares: 512));

        string Read(string controller, string file) => File.ReadAllText(Path.Combine(_root, controller, "runner", "c1", file));
        Assert.That(Read("cpu", "cpu.cfs_period_us"), Is.EqualTo("100000"));
        Assert.That(Read("cpu", "cpu.cfs_quota_us"), Is.EqualTo("150000"));
        Assert.That(Read("cpu", "cpu.shares"), Is.EqualTo("512"));
        Assert.That(Read("memory", "memory.limit_in_bytes"), Is.EqualTo("536870912"));
        Assert.That(Read("pids", "pids.max"), Is.EqualTo("100"));
        Assert.That(Read("devices", "devices.deny"), Is.EqualTo("a"));
        Assert.That(Read("devices", "devices.allow"), Is.EqualTo("c 136:* rwm"), "the last of the allowed devices (each is written in turn)");
        Assert.That(cgroup.ProcsFiles, Has.Count.EqualTo(5));
    }
}
