using System.Globalization;

namespace Ci.Isolation.Processes;

/// <summary>
/// A process as the store and the runner remember it: its pid and its start time (field 22 of
/// /proc/PID/stat, in clock ticks since boot), so that a pid the kernel reused for another process
/// is not mistaken for it. Whatever a runner leaves with its name on it (a container directory, a
/// temporary, a lease, a run's scratch directory, a network namespace) is named with
/// <see cref="Token"/>, and is the next runner's to remove once <see cref="IsAlive"/> is false.
/// </summary>
public readonly record struct ProcessIdentity(int Pid, long StartTicks)
{
    private static readonly Lazy<ProcessIdentity> Self = new(() => new(Environment.ProcessId, StartTime(Environment.ProcessId) ?? 0));

    /// <summary>This process, read from /proc once.</summary>
    public static ProcessIdentity Current => Self.Value;

    /// <summary>For names: <c>PID.START</c> (no '-', which the names use as a separator).</summary>
    public string Token => $"{Pid}.{StartTicks}";

    /// <summary>Whether the process still runs: that pid, started at that time.</summary>
    public bool IsAlive => StartTime(Pid) == StartTicks;

    public bool IsCurrent => this == Current;

    /// <summary>
    /// Reads a <see cref="Token"/>, or what older runners wrote: <c>PID START</c> (container owner
    /// files) or a bare pid, which can only say whether some process has that pid now.
    /// </summary>
    public static bool TryParse(string text, out ProcessIdentity identity)
    {
        identity = default;
        var parts = text.Trim().Split('.', ' ');
        if (parts.Length is < 1 or > 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
        {
            return false;
        }

        if (parts.Length == 1)
        {
            // A bare pid: alive means "that pid runs"; its start time is taken as the running one's.
            identity = new ProcessIdentity(pid, StartTime(pid) ?? -1);
            return true;
        }

        if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return false;
        }

        identity = new ProcessIdentity(pid, start);
        return true;
    }

    /// <summary>Whether the process a token names still runs; a text that is not a token is not a live process.</summary>
    public static bool IsAliveToken(string text) => TryParse(text, out var identity) && identity.IsAlive;

    public override string ToString() => Token;

    private static long? StartTime(int pid)
    {
        try
        {
            // Field 22 of /proc/PID/stat, after the parenthesised command name (which may hold spaces and parentheses).
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
