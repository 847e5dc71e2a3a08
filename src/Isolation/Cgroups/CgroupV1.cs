using Ci.Isolation.Containers;

namespace Ci.Isolation.Cgroups;

/// <summary>cgroup v1: one directory per hierarchy (cpu, cpuacct, memory, pids; co-mounted ones share one).</summary>
internal sealed class CgroupV1 : ContainerCgroup
{
    private const long CpuPeriodMicros = 100_000;
    private readonly string _cpu;
    private readonly string _cpuacct;
    private readonly string _memory;
    private readonly string _pids;
    private readonly string? _devices;
    private readonly IReadOnlyList<string> _dirs;

    public CgroupV1(IReadOnlyDictionary<string, string> mounts, string parent, string id)
    {
        string Dir(string controller) => Path.Combine(mounts[controller], parent, id);
        _cpu = Dir("cpu");
        _cpuacct = Dir("cpuacct");
        _memory = Dir("memory");
        _pids = Dir("pids");
        _devices = mounts.ContainsKey("devices") ? Dir("devices") : null;
        _dirs = new[] { _cpu, _cpuacct, _memory, _pids, _devices }.OfType<string>().Distinct().ToList();
    }

    public override IReadOnlyList<string> ProcsFiles => _dirs.Select(d => Path.Combine(d, "cgroup.procs")).ToList();

    public override void Create(ContainerLimits limits)
    {
        foreach (var dir in _dirs)
        {
            Directory.CreateDirectory(dir);
        }

        if (limits.MemoryBytes is { } memory)
        {
            Write(Path.Combine(_memory, "memory.limit_in_bytes"), memory.ToString());
            // Without a swap allowance, memory+swap equals memory: the container cannot swap (Docker's --memory-swap = --memory).
            var memsw = Path.Combine(_memory, "memory.memsw.limit_in_bytes");
            if (File.Exists(memsw))
            {
                Write(memsw, (memory + (limits.SwapBytes ?? 0)).ToString());
            }
        }

        if (limits.MilliCpus is { } milli)
        {
            Write(Path.Combine(_cpu, "cpu.cfs_period_us"), CpuPeriodMicros.ToString());
            Write(Path.Combine(_cpu, "cpu.cfs_quota_us"), (milli * CpuPeriodMicros / 1000).ToString());
        }

        if (limits.CpuShares is { } shares)
        {
            Write(Path.Combine(_cpu, "cpu.shares"), Math.Clamp(shares, 2, 262144).ToString());
        }

        Write(Path.Combine(_pids, "pids.max"), limits.Pids is { } pids ? pids.ToString() : "max");
        if (_devices is not null)
        {
            // Deny every device, then allow the ones in the container's own /dev (Docker's list). A host disk
            // bind-mounted as a volume then still cannot be opened.
            Write(Path.Combine(_devices, "devices.deny"), "a");
            foreach (var rule in DeviceRules.Allowed)
            {
                Write(Path.Combine(_devices, "devices.allow"), rule);
            }
        }
    }

    public override CgroupStats ReadStats()
    {
        var oom = KeyedValue(ReadOrNull(Path.Combine(_memory, "memory.oom_control")), "oom_kill");
        var peak = Number(Path.Combine(_memory, "memory.max_usage_in_bytes"));
        var cpuNanos = Number(Path.Combine(_cpuacct, "cpuacct.usage"));
        var stat = ReadOrNull(Path.Combine(_cpu, "cpu.stat"));
        return new CgroupStats(oom, peak, TimeSpan.FromTicks(cpuNanos / 100), KeyedValue(stat, "nr_throttled"),
            TimeSpan.FromTicks(KeyedValue(stat, "throttled_time") / 100));
    }

    public override void KillAll()
    {
        foreach (var procs in ProcsFiles)
        {
            KillProcs(procs);
        }
    }

    public override void Remove()
    {
        foreach (var dir in _dirs)
        {
            RemoveDirectory(dir, Path.Combine(dir, "cgroup.procs"));
        }
    }
}
