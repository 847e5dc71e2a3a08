using System.Text;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// runner-init's messages: one write(2) a line, to its stderr (the runtime logs it) or to a container's. Not System.Console,
/// whose terminal handling would be a part of runner-init's binary, and so of its memory, for a few lines of text.
/// </summary>
internal static class Stderr
{
    /// <summary>A line to <paramref name="fd"/> (a container's stderr), or to runner-init's own when it is -1 or not given.</summary>
    public static unsafe void WriteLine(string line, int fd = 2)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* p = bytes)
        {
            _ = write(fd >= 0 ? fd : 2, p, bytes.Length);
        }
    }
}
