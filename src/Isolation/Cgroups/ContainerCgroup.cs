using Ci.Isolation.Containers;

namespace Ci.Isolation.Cgroups;

/// <summary>
/// The cgroup(s) of one container, under the runtime's own parent (<c>runner/</c>) in each
/// hierarchy. Call order: <see cref="Create"/>, then the init joins <see cref="ProcsFiles"/>,
/// then <see cref="ReadStats"/>, <see cref="KillAll"/> (safe to repeat), <see cref="Remove"/>
/// (safe to repeat). Never touches a cgroup outside its parent.
/// </summary>
public abstract class ContainerCgroup
{
    public const string DefaultParent = "runner";

    /// <param name="parent">The runtime's own parent cgroup in each hierarchy (one per runner installation).</param>
    public static ContainerCgroup For(CgroupLayout layout, string id, string parent = DefaultParent) => layout.Mode == CgroupMode.Unified
        ? new CgroupV2(layout.UnifiedMount!, parent, id)
        : new CgroupV1(layout.V1Mounts, parent, id);

    /// <summary>The cgroup.procs files the container's init writes itself into.</summary>
    public abstract IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>Creates the cgroup(s) and writes the limits, before any process of the container exists.</summary>
    public abstract void Create(ContainerLimits limits);

    public abstract CgroupStats ReadStats();

    /// <summary>True when no process is in the cgroup(s), or they do not exist.</summary>
    public bool IsEmpty => ProcsFiles.All(f => string.IsNullOrWhiteSpace(ReadOrNull(f)));

    /// <summary>SIGKILLs every process in the cgroup(s).</summary>
    public abstract void KillAll();

    /// <summary>Removes the cgroup(s), killing stragglers first; gives up after a few seconds with an exception naming the path.</summary>
    public abstract void Remove();

    protected static void Write(string file, string value)
    {
        // Created when missing, as File.WriteAllText did: cgroupfs refuses that, and the tests' hierarchies are plain files.
        if (Native.Libc.WriteSmallFile(file, value, create: true) is not 0 and var errno)
        {
            throw new IsolationException($"write '{value}' to {file}: {Native.Libc.Describe(errno)}", new IOException(Native.Libc.Describe(errno), errno));
        }
    }

    protected static string? ReadOrNull(string file) => Native.Libc.ReadSmallFile(file);

    /// <summary>A file holding one number, or 0 when it is missing or unreadable (an older kernel).</summary>
    protected static long Number(string file) => long.TryParse(ReadOrNull(file)?.Trim(), out var v) ? v : 0;

    protected static long KeyedValue(string? text, string key)
    {
        foreach (var line in (text ?? "").Split('\n'))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], out var v))
            {
                return v;
            }
        }

        return 0;
    }

    protected static void KillProcs(string procsFile)
    {
        foreach (var line in (ReadOrNull(procsFile) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(line, out var pid))
            {
                _ = Native.Libc.kill(pid, Native.Libc.SigKill);
            }
        }
    }

    /// <summary>rmdir with retries: a cgroup is busy until the last killed process has been reaped.</summary>
    protected static void RemoveDirectory(string dir, string procsFile)
    {
        for (var attempt = 0; Directory.Exists(dir); attempt++)
        {
            try
            {
                Directory.Delete(dir);
                return;
            }
            catch (IOException) when (attempt < 200)
            {
                KillProcs(procsFile);
                Thread.Sleep(10);
            }
            catch (IOException ex)
            {
                throw new IsolationException($"rmdir {dir}: {ex.Message}; processes left: {ReadOrNull(procsFile)?.Trim()}", ex);
            }
        }
    }
}
