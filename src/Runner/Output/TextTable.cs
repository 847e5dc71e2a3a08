namespace Ci.Runner.Output;

/// <summary>
/// A plain-text table whose columns are as wide as their widest cell, two spaces apart, so that
/// long values (a job list, an image name) push the next column along instead of running into it.
/// Columns named in <c>rightAligned</c> (numbers, durations) are aligned right; the last column is not padded.
/// </summary>
internal sealed class TextTable(IReadOnlyList<string> headers, params int[] rightAligned)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Count)
        {
            throw new ArgumentException($"a row of {cells.Length} cells in a table of {headers.Count} columns", nameof(cells));
        }

        _rows.Add(cells);
    }

    public void WriteTo(TextWriter writer)
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in _rows.Prepend([.. headers]))
        {
            var cells = row.Select((cell, i) => i == row.Length - 1 && !rightAligned.Contains(i) ? cell
                : rightAligned.Contains(i) ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
            writer.WriteLine(string.Join("  ", cells));
        }
    }
}
