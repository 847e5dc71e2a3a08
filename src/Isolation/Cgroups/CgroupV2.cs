using Ci.Isolation.Containers;

namespace Ci.Isolation.Cgroups;

/// <summary>cgroup v2: one directory; controllers are enabled on our parent through cgroup.subtree_control.</summary>
internal sealed class CgroupV2(string mount, string parent, string id) : ContainerCgroup
{
    private const long CpuPeriodMicros = 100_000;
    private readonly string _parent = Path.Combine(mount, parent);
    private readonly string _dir = Path.Combine(mount, parent, id);

    public override IReadOnlyList<string> ProcsFiles => [Path.Combine(_dir, "cgroup.procs")];

    public override void Create(ContainerLimits limits)
    {
        Directory.CreateDirectory(_parent);
        var subtree = ReadOrNull(Path.Combine(_parent, "cgroup.subtree_control")) ?? "";
        foreach (var controller in (string[])["cpu", "memory", "pids"])
        {
            if (!subtree.Contains(controller, StringComparison.Ordinal))
            {
                Write(Path.Combine(mount, "cgroup.subtree_control"), "+" + controller);
                Write(Path.Combine(_parent, "cgroup.subtree_control"), "+" + controller);
            }
        }

        Directory.CreateDirectory(_dir);
        if (limits.MemoryBytes is { } memory)
        {
            Write(Path.Combine(_dir, "memory.max"), memory.ToString());
            Write(Path.Combine(_dir, "memory.swap.max"), (limits.SwapBytes ?? 0).ToString());
        }

        if (limits.MilliCpus is { } milli)
        {
            Write(Path.Combine(_dir, "cpu.max"), $"{milli * CpuPeriodMicros / 1000} {CpuPeriodMicros}");
        }

        if (limits.CpuShares is { } shares)
        {
            Write(Path.Combine(_dir, "cpu.weight"), SharesToWeight(shares).ToString());
        }

        Write(Path.Combine(_dir, "pids.max"), limits.Pids is { } pids ? pids.ToString() : "max");
    }

    /// <summary>
    /// v1 cpu.shares [2, 262144] to v2 cpu.weight [1, 10000] on a log scale that maps the defaults
    /// onto each other (1024 → 100): runc's ConvertCPUSharesToCgroupV2Value, as in crun.
    /// </summary>
    public static long SharesToWeight(int shares)
    {
        if (shares <= 2)
        {
            return 1;
        }

        if (shares >= 262144)
        {
            return 10000;
        }

        var l = Math.Log2(shares);
        var exponent = ((l * l) + (125 * l)) / 612.0 - 7.0 / 34.0;
        return (long)Math.Ceiling(Math.Pow(10, exponent));
    }

    public override CgroupStats ReadStats()
    {
        var oom = KeyedValue(ReadOrNull(Path.Combine(_dir, "memory.events")), "oom_kill");
        var peak = Number(Path.Combine(_dir, "memory.peak"));
        var cpu = ReadOrNull(Path.Combine(_dir, "cpu.stat"));
        return new CgroupStats(oom, peak, TimeSpan.FromTicks(KeyedValue(cpu, "usage_usec") * 10), KeyedValue(cpu, "nr_throttled"),
            TimeSpan.FromTicks(KeyedValue(cpu, "throttled_usec") * 10));
    }

    public override void KillAll()
    {
        var kill = Path.Combine(_dir, "cgroup.kill");
        if (File.Exists(kill))
        {
            Write(kill, "1");
        }
        else
        {
            KillProcs(ProcsFiles[0]);
        }
    }

    public override void Remove() => RemoveDirectory(_dir, ProcsFiles[0]);
}
