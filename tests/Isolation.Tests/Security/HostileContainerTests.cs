using Ci.Isolation.Containers;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Security;

/// <summary>Issue 10, item 6: whatever its network, a container reaches no host cgroup through /sys. Real containers, as root.</summary>
[Category("Security")]
public sealed class HostileContainerTests : ContainerFixture
{
    private const string Probe = """
        awk '$5 ~ "^/sys" { print "mount", $5, $6 }' /proc/self/mountinfo
        echo "cgroup-entries $(ls /sys/fs/cgroup | wc -l)"
        for f in /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cgroup.procs /sys/kernel/mm/transparent_hugepage/enabled; do
          (echo 1 > $f) 2>/dev/null && echo "wrote $f"
        done
        echo done
        """;

    [Test, CancelAfter(30_000)]
    public async Task Every_sys_mount_is_read_only_and_no_host_cgroup_is_reachable_with_the_host_network() => await AssertSysIsClosedAsync(ContainerNetwork.Host);

    [Test, CancelAfter(30_000)]
    public async Task Every_sys_mount_is_read_only_and_no_host_cgroup_is_reachable_with_a_private_network() => await AssertSysIsClosedAsync(ContainerNetwork.None);

    private async Task AssertSysIsClosedAsync(ContainerNetwork network)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", Probe) with { Network = network });

        var mounts = run.Stdout.Split('\n').Where(l => l.StartsWith("mount ", StringComparison.Ordinal)).ToList();
        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(mounts, Is.Not.Empty, run.Stdout);
            Assert.That(mounts.Where(m => !m.Split(' ')[2].Split(',').Contains("ro")), Is.Empty, "every mount under /sys is read-only");
            Assert.That(run.Stdout, Does.Contain("cgroup-entries 0"), "no host cgroup hierarchy is mounted under /sys/fs/cgroup");
            Assert.That(run.Stdout, Does.Not.Contain("wrote "));
            Assert.That(run.Stdout, Does.EndWith("done\n").Or.EndWith("done"));
        });
    }
}
