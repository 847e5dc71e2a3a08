using System.Globalization;
using System.Text;

namespace Ci.Isolation.Init;

/// <summary>
/// Rewrites this process's command line in place (what /proc/PID/cmdline and ps show), as
/// setproctitle does: the runtime starts runner-init by its host path, and the container's PID 1,
/// a clone of it under --init, must not show that path. Done before the clone, whose memory is a
/// copy of ours. The original area cannot shrink, so, as setproctitle, the title is one string
/// ended by a NUL and the area's last byte is made non-NUL: the kernel then shows the string alone,
/// not the area's trailing NULs.
/// </summary>
internal static class ProcessTitle
{
    /// <summary>Shows <paramref name="args"/> as the command line, when they fit in the original one (else leaves it).</summary>
    public static unsafe void Set(params string[] args)
    {
        // /proc/self/stat, after the command name's closing parenthesis: field 3 onwards; arg_start and arg_end are fields 48 and 49.
        var stat = SmallFiles.ReadText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 47
            || !ulong.TryParse(fields[45], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !ulong.TryParse(fields[46], NumberStyles.None, CultureInfo.InvariantCulture, out var end))
        {
            return;
        }

        var title = Encoding.UTF8.GetBytes(string.Join(' ', args) + '\0');
        var area = new Span<byte>((void*)start, checked((int)(end - start)));
        if (title.Length >= area.Length)
        {
            return;
        }

        area.Clear();
        title.CopyTo(area);
        area[^1] = (byte)' ';
    }
}
