namespace Ci.Isolation.Cgroups;

/// <summary>
/// How the host's cgroups are mounted, detected at start-up from /proc/self/mountinfo and never
/// assumed: on v2 every controller lives under <see cref="UnifiedMount"/>; on v1 and hybrid hosts
/// each controller has its own hierarchy in <see cref="V1Mounts"/>.
/// </summary>
public sealed record CgroupLayout(CgroupMode Mode, string? UnifiedMount, IReadOnlyDictionary<string, string> V1Mounts)
{
    /// <summary>The v1 controllers a container's limits and accounting need.</summary>
    public static readonly IReadOnlyList<string> RequiredV1Controllers = ["cpu", "cpuacct", "memory", "pids"];

    /// <summary>Reads the layout of the calling process's mount namespace.</summary>
    public static CgroupLayout Detect() => Parse(File.ReadAllText("/proc/self/mountinfo"));

    /// <summary>Parses mountinfo text (proc(5)); throws <see cref="CgroupUnavailableException"/> when no usable cgroup mount exists.</summary>
    public static CgroupLayout Parse(string mountinfo)
    {
        string? unified = null;
        var v1 = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime shared:1 - cgroup cgroup rw,freezer"
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator < 5 || separator + 3 >= fields.Length)
            {
                continue;
            }

            var mountPoint = Unescape(fields[4]);
            var fsType = fields[separator + 1];
            var superOptions = fields[separator + 3].Split(',');
            if (fsType == "cgroup2")
            {
                // The one at /sys/fs/cgroup wins over others (hybrid's /sys/fs/cgroup/unified, nested mounts).
                if (unified is null || mountPoint == "/sys/fs/cgroup")
                {
                    unified = mountPoint;
                }
            }
            else if (fsType == "cgroup")
            {
                foreach (var option in superOptions)
                {
                    if (option is not ("rw" or "ro") && !option.Contains('=', StringComparison.Ordinal))
                    {
                        v1.TryAdd(option, mountPoint);
                    }
                }
            }
        }

        if (v1.Count == 0)
        {
            return unified is not null
                ? new CgroupLayout(CgroupMode.Unified, unified, v1)
                : throw new CgroupUnavailableException("no cgroup or cgroup2 file system is mounted (see /proc/self/mountinfo)");
        }

        var missing = RequiredV1Controllers.Where(c => !v1.ContainsKey(c)).ToList();
        if (missing.Count > 0)
        {
            throw new CgroupUnavailableException(
                $"cgroup v1 is mounted without the {string.Join(", ", missing)} controller{(missing.Count == 1 ? "" : "s")}; limits and accounting need them");
        }

        return new CgroupLayout(unified is null ? CgroupMode.Legacy : CgroupMode.Hybrid, unified, v1);
    }

    // mountinfo escapes space, tab, newline and backslash as octal (\040 and so on).
    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
