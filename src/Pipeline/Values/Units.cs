using System.Globalization;
using System.Text.RegularExpressions;

namespace Ci.Pipeline.Values;

/// <summary>
/// Parsing and printing of the quantities users write: sizes (<c>512Mi</c>, <c>2G</c>), durations
/// (<c>90s</c>, <c>1h30m</c>) and CPU counts (<c>1.5</c>, <c>500m</c>). Parsers return an error
/// sentence instead of throwing, so the caller can attach a position.
/// </summary>
public static partial class Units
{
    private static readonly Dictionary<string, long> SizeUnits = new(StringComparer.Ordinal)
    {
        ["B"] = 1,
        ["K"] = 1000, ["KB"] = 1000, ["kB"] = 1000, ["k"] = 1000,
        ["M"] = 1000 * 1000, ["MB"] = 1000 * 1000,
        ["G"] = 1000L * 1000 * 1000, ["GB"] = 1000L * 1000 * 1000,
        ["T"] = 1000L * 1000 * 1000 * 1000, ["TB"] = 1000L * 1000 * 1000 * 1000,
        ["Ki"] = 1024, ["KiB"] = 1024,
        ["Mi"] = 1024 * 1024, ["MiB"] = 1024 * 1024,
        ["Gi"] = 1024L * 1024 * 1024, ["GiB"] = 1024L * 1024 * 1024,
        ["Ti"] = 1024L * 1024 * 1024 * 1024, ["TiB"] = 1024L * 1024 * 1024 * 1024,
    };

    private static readonly (string Unit, double Seconds)[] DurationUnits =
        [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d+)?)\s*(?<u>[A-Za-z]*)$")]
    private static partial Regex SizePattern();

    [GeneratedRegex(@"\G(?<n>\d+(?:\.\d+)?)(?<u>ms|s|m|h|d)")]
    private static partial Regex DurationPart();

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d{1,3})?)(?<m>m)?$")]
    private static partial Regex CpuPattern();

    public static bool TryParseSize(string text, out long bytes, out string error)
    {
        bytes = 0;
        error = "";
        var m = SizePattern().Match(text.Trim());
        if (!m.Success)
        {
            error = $"'{text}' is not a size; write a number and a unit, such as 512Mi, 2Gi or 500M";
            return false;
        }

        var unit = m.Groups["u"].Value;
        if (unit.Length == 0)
        {
            error = $"'{text}' has no unit; write {m.Groups["n"].Value}Mi for MiB or {m.Groups["n"].Value}M for MB";
            return false;
        }

        if (!SizeUnits.TryGetValue(unit, out var factor))
        {
            var hint = unit is "m" or "mb" or "g" or "gb" or "mib" or "gib"
                ? $"; units are case-sensitive: use {m.Groups["n"].Value}Mi or {m.Groups["n"].Value}Gi (binary) or M/G (decimal)"
                : "; known units are B, K, M, G, T (powers of 1000) and Ki, Mi, Gi, Ti (powers of 1024)";
            error = $"'{text}' has an unknown unit '{unit}'{hint}";
            return false;
        }

        var number = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        var value = number * factor;
        if (value > long.MaxValue / 2)
        {
            error = $"'{text}' is too large";
            return false;
        }

        bytes = (long)Math.Round(value);
        return true;
    }

    public static bool TryParseDuration(string text, out TimeSpan duration, out string error)
    {
        duration = TimeSpan.Zero;
        error = "";
        var s = text.Trim();
        if (s.Length == 0)
        {
            error = "an empty duration; write 90s, 5m, 1h30m or 2d";
            return false;
        }

        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            error = $"'{text}' has no unit; write {s}s, {s}m or {s}h";
            return false;
        }

        double seconds = 0;
        var pos = 0;
        while (pos < s.Length)
        {
            var m = DurationPart().Match(s, pos);
            if (!m.Success)
            {
                error = $"'{text}' is not a duration; write 90s, 5m, 1h30m or 2d (units: ms, s, m, h, d)";
                return false;
            }

            var unit = Array.Find(DurationUnits, u => u.Unit == m.Groups["u"].Value);
            seconds += double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture) * unit.Seconds;
            pos += m.Length;
        }

        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            error = $"'{text}' is too long";
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>Parses a CPU count into thousandths of a CPU: "1.5" → 1500, "500m" → 500.</summary>
    public static bool TryParseCpus(string text, out int milliCpus, out string error)
    {
        milliCpus = 0;
        error = "";
        var m = CpuPattern().Match(text.Trim());
        if (!m.Success)
        {
            error = $"'{text}' is not a CPU count; write 2, 0.5 (half a CPU) or 500m (500 thousandths)";
            return false;
        }

        var number = decimal.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        var value = m.Groups["m"].Success ? number : number * 1000;
        if (value != decimal.Truncate(value) || value > 1_000_000)
        {
            error = $"'{text}' is not a usable CPU count (at most 1000 CPUs, in steps of 0.001)";
            return false;
        }

        milliCpus = (int)value;
        return true;
    }

    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var i = 0;
        while (value >= 1024 && i < units.Length - 1)
        {
            value /= 1024;
            i++;
        }

        return i == 0 ? $"{bytes} B" : value.ToString(value % 1 == 0 ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + units[i];
    }

    public static string FormatDuration(TimeSpan d)
    {
        if (d.TotalSeconds < 1)
        {
            return $"{(int)d.TotalMilliseconds}ms";
        }

        var parts = new List<string>();
        if (d.Days > 0)
        {
            parts.Add($"{d.Days}d");
        }

        if (d.Hours > 0)
        {
            parts.Add($"{d.Hours}h");
        }

        if (d.Minutes > 0)
        {
            parts.Add($"{d.Minutes}m");
        }

        if (d.Seconds > 0 || d.Milliseconds > 0)
        {
            parts.Add(d.Milliseconds > 0 ? $"{d.Seconds}.{d.Milliseconds:000}s".TrimEnd('0') : $"{d.Seconds}s");
        }

        return string.Concat(parts);
    }

    public static string FormatCpus(int milliCpus) =>
        (milliCpus / 1000m).ToString("0.###", CultureInfo.InvariantCulture);
}
