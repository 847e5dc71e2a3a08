using System.Text.RegularExpressions;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Parsing;

namespace Ci.Pipeline.Tests.Docs;

/// <summary>docs/pipeline-reference.md documents every key the reader accepts, and no other, and every diagnostic code.</summary>
public sealed partial class ReferenceTests
{
    private static readonly string Reference = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "docs", "pipeline-reference.md"));

    [GeneratedRegex(@"<!-- keys: (?<name>[^>]+?) -->\s*\n(?<table>(?:\|.*\n?)+)")]
    private static partial Regex KeyTable();

    [GeneratedRegex(@"^\|\s*`(?<key>[a-z_.]+)`\s*\|", RegexOptions.Multiline)]
    private static partial Regex KeyRow();

    private static Dictionary<string, List<string>> DocumentedTables() =>
        KeyTable().Matches(Reference).ToDictionary(
            m => m.Groups["name"].Value,
            m => KeyRow().Matches(m.Groups["table"].Value).Select(r => r.Groups["key"].Value).ToList());

    public static IEnumerable<string> SchemaNames() => PipelineReader.Schemas.Select(s => s.Name);

    [TestCaseSource(nameof(SchemaNames))]
    public void The_reference_lists_exactly_the_keys_the_reader_accepts(string schema)
    {
        var tables = DocumentedTables();
        Assert.That(tables.ContainsKey(schema), $"no '<!-- keys: {schema} -->' table in the reference");

        var accepted = PipelineReader.Schemas.Single(s => s.Name == schema).Keys;

        Assert.That(tables[schema], Is.EquivalentTo(accepted));
    }

    [Test]
    public void The_reference_lists_the_matrix_keys_that_are_not_axes() =>
        Assert.That(DocumentedTables()["matrix"], Is.EquivalentTo(PipelineReader.MatrixKeys));

    [Test]
    public void Every_documented_key_table_belongs_to_a_schema() =>
        Assert.That(DocumentedTables().Keys, Is.EquivalentTo(SchemaNames().Append("matrix")));

    [Test]
    public void Every_diagnostic_code_is_documented()
    {
        foreach (var code in DiagnosticCodes.All.Keys)
        {
            Assert.That(Reference, Does.Contain($"| {code} |"), code);
        }
    }
}
