using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;

namespace Ci.Pipeline.Compilation;

public sealed partial class PipelineCompiler
{
    public const int MaxMatrixCells = 256;

    /// <summary>
    /// The cells of a job's matrix (one empty cell without a matrix), or null after an error.
    /// Semantics follow GitHub Actions: exclude removes matching cells; each include object
    /// extends every cell whose original values it does not contradict, or else adds a new cell.
    /// </summary>
    private List<Dictionary<string, string>>? ExpandMatrix(JobSpec job)
    {
        if (job.Matrix is not { } m)
        {
            return [new Dictionary<string, string>(StringComparer.Ordinal)];
        }

        long count = 1;
        foreach (var axis in m.Axes)
        {
            count *= Math.Max(1, axis.Values.Count);
            if (count > MaxMatrixCells)
            {
                var sizes = string.Join(" × ", m.Axes.Select(a => a.Values.Count));
                _diagnostics.Error(m.Position, DiagnosticCodes.MatrixTooLarge,
                    $"the matrix of job '{job.Name.Value}' expands to more than {MaxMatrixCells} cells ({sizes}); split it or use include");
                return null;
            }
        }

        var axisNames = m.Axes.Select(a => a.Name.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, _) in m.Exclude.SelectMany(e => e))
        {
            if (!axisNames.Contains(name.Value))
            {
                _diagnostics.Error(name.Position, DiagnosticCodes.InvalidMatrix,
                    $"matrix.exclude names '{name.Value}', which is not an axis{Parsing.Suggestions.Hint(name.Value, axisNames)}");
                return null;
            }
        }

        var cells = new List<Dictionary<string, string>> { new(StringComparer.Ordinal) };
        foreach (var axis in m.Axes.Where(a => a.Values.Count > 0))
        {
            cells = cells.SelectMany(c => axis.Values.Select(v => new Dictionary<string, string>(c, StringComparer.Ordinal) { [axis.Name.Value] = v.Value })).ToList();
        }

        if (m.Axes.Count == 0)
        {
            cells.Clear();
        }

        cells.RemoveAll(c => m.Exclude.Any(e => e.All(kv => c.TryGetValue(kv.Name.Value, out var v) && v == kv.Value.Value)));
        var originals = cells.Select(c => new Dictionary<string, string>(c, StringComparer.Ordinal)).ToList();
        foreach (var include in m.Include)
        {
            var extended = false;
            for (var i = 0; i < cells.Count; i++)
            {
                if (include.All(kv => !originals[i].TryGetValue(kv.Name.Value, out var v) || v == kv.Value.Value))
                {
                    foreach (var (k, v) in include)
                    {
                        cells[i][k.Value] = v.Value;
                    }

                    extended = true;
                }
            }

            if (!extended)
            {
                var cell = include.ToDictionary(kv => kv.Name.Value, kv => kv.Value.Value, StringComparer.Ordinal);
                cells.Add(cell);
                originals.Add(cell);
            }
        }

        if (cells.Count > MaxMatrixCells)
        {
            _diagnostics.Error(m.Position, DiagnosticCodes.MatrixTooLarge,
                $"the matrix of job '{job.Name.Value}' expands to {cells.Count} cells; the limit is {MaxMatrixCells}");
            return null;
        }

        if (cells.Count == 0)
        {
            _diagnostics.Error(m.Position, DiagnosticCodes.InvalidMatrix, $"the matrix of job '{job.Name.Value}' has no cells left after exclude");
            return null;
        }

        return cells;
    }

    /// <summary>A cell's id part: values joined by '-', reduced to characters safe in paths and cgroup names.</summary>
    private static string CellSuffix(IReadOnlyDictionary<string, string> cell) =>
        string.Join("-", cell.Values.Select(v => new string(v.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' ? ch : '_').ToArray())));
}
