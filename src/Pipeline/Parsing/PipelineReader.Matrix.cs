using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

internal static partial class PipelineReader
{
    /// <summary>Keys of a matrix that are not axes. Any other key is an axis.</summary>
    internal static readonly IReadOnlyList<string> MatrixKeys = ["include", "exclude"];

    private static MatrixSpec? ReadMatrix(ReadContext c, YamlNode n)
    {
        if (c.Mapping(n, "matrix") is not { } map)
        {
            return null;
        }

        var axes = new List<MatrixAxis>();
        var include = new List<IReadOnlyList<(Text, Text)>>();
        var exclude = new List<IReadOnlyList<(Text, Text)>>();
        foreach (var (key, value) in map.Entries)
        {
            switch (key.Value)
            {
                case "include":
                    include.AddRange(ReadCells(c, value, "matrix.include"));
                    break;
                case "exclude":
                    exclude.AddRange(ReadCells(c, value, "matrix.exclude"));
                    break;
                default:
                    if (!Names.IsEnvName(key.Value))
                    {
                        c.Error(key, DiagnosticCodes.InvalidName, $"matrix axis '{key.Value}' must be a name of letters, digits and '_'");
                        break;
                    }

                    if (value is not YamlSequence)
                    {
                        c.WrongType(value, $"matrix axis '{key.Value}'", "a list of values");
                        break;
                    }

                    var values = c.StringList(value, $"matrix axis '{key.Value}'") ?? [];
                    if (values.Count == 0)
                    {
                        c.Error(value, DiagnosticCodes.InvalidMatrix, $"matrix axis '{key.Value}' has no values");
                    }

                    axes.Add(new MatrixAxis(new Text(key.Value, key.Position), values));
                    break;
            }
        }

        if (axes.Count == 0 && include.Count == 0)
        {
            c.Error(n, DiagnosticCodes.InvalidMatrix, "matrix has no axes; write 'matrix: { node: [18, 20] }'");
        }

        return new MatrixSpec(axes, include, exclude, n.Position);
    }

    private static IEnumerable<IReadOnlyList<(Text, Text)>> ReadCells(ReadContext c, YamlNode n, string what)
    {
        if (n is not YamlSequence seq)
        {
            c.WrongType(n, what, "a list of mappings");
            yield break;
        }

        foreach (var item in seq.Items)
        {
            if (c.Mapping(item, $"an item of {what}") is not { } m)
            {
                continue;
            }

            var cell = new List<(Text, Text)>();
            foreach (var (k, v) in m.Entries)
            {
                if (c.String(v, $"{what}.{k.Value}", allowEmpty: true) is { } value)
                {
                    cell.Add((new Text(k.Value, k.Position), value));
                }
            }

            yield return cell;
        }
    }
}
