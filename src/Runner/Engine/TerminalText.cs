using System.Text;

namespace Ci.Runner.Engine;

/// <summary>
/// Makes a line a step printed safe to show on a terminal, in the stored log and in a web view:
/// colours (SGR, <c>ESC [ … m</c>) are kept; every other escape sequence is removed (OSC window
/// titles and hyperlinks, cursor movement and erasing, which could hide or forge lines, DCS,
/// device queries that make a terminal answer), and so are C0 and C1 control characters but tab
/// (a carriage return or backspace could overwrite what the line said). Printable text is untouched.
/// </summary>
public static class TerminalText
{
    private const char Esc = '\u001b', Bel = '\u0007';
    private static readonly System.Buffers.SearchValues<char> SgrParameters = System.Buffers.SearchValues.Create("0123456789;:");

    public static string Neutralise(string line)
    {
        if (!line.AsSpan().ContainsAnyInRange('\u0000', '\u001f') && !line.AsSpan().ContainsAnyInRange('\u007f', '\u009f'))
        {
            return line;
        }

        var text = new StringBuilder(line.Length);
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == Esc)
            {
                i = SkipSequence(line, i, text);
            }
            else if (c == '\t' || (c >= ' ' && c != '\u007f' && (c < '\u0080' || c > '\u009f')))
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    /// <summary>Skips the escape sequence at <paramref name="start"/> (copying it when it is SGR); returns the index of its last character.</summary>
    private static int SkipSequence(string line, int start, StringBuilder text)
    {
        if (start + 1 >= line.Length)
        {
            return start;
        }

        switch (line[start + 1])
        {
            case '[':
                // CSI: parameters 0x30–0x3f, intermediates 0x20–0x2f, one final byte 0x40–0x7e.
                var i = start + 2;
                while (i < line.Length && line[i] is >= '0' and <= '?')
                {
                    i++;
                }

                var parametersEnd = i;
                while (i < line.Length && line[i] is >= ' ' and <= '/')
                {
                    i++;
                }

                if (i >= line.Length)
                {
                    return line.Length - 1;
                }

                if (line[i] == 'm' && parametersEnd == i && line.AsSpan(start + 2, parametersEnd - start - 2).IndexOfAnyExcept(SgrParameters) < 0)
                {
                    text.Append(line, start, i - start + 1);
                }

                return line[i] is >= '@' and <= '~' ? i : i - 1;
            case ']' or 'P' or 'X' or '^' or '_':
                // OSC, DCS, SOS, PM, APC: up to BEL or the string terminator ESC \.
                for (var j = start + 2; j < line.Length; j++)
                {
                    if (line[j] == Bel)
                    {
                        return j;
                    }

                    if (line[j] == Esc && j + 1 < line.Length && line[j + 1] == '\\')
                    {
                        return j + 1;
                    }
                }

                return line.Length - 1;
            default:
                // A two-character sequence (ESC c resets the terminal, ESC 7/8 save and restore the cursor).
                return start + 1;
        }
    }
}
