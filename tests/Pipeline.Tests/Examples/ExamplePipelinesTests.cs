using Ci.Pipeline.Compilation;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Tests.Examples;

public sealed class ExamplePipelinesTests
{
    private static string ExamplesDir => Path.Combine(RepositoryLayout.Root, "pipelines-examples");

    public static IEnumerable<string> Examples() =>
        Directory.GetDirectories(Path.Combine(RepositoryLayout.Root, "pipelines-examples"))
            .Where(d => File.Exists(Path.Combine(d, ".runner.yml")))
            .Select(Path.GetFileName)
            .Order()!;

    public static IEnumerable<string> InvalidFiles() =>
        Directory.GetFiles(Path.Combine(RepositoryLayout.Root, "pipelines-examples", "invalid"), "*.yml")
            .Select(Path.GetFileName)
            .Order()!;

    [Test]
    public void There_are_at_least_five_example_pipelines() => Assert.That(Examples().Count(), Is.GreaterThanOrEqualTo(5));

    [TestCaseSource(nameof(Examples))]
    public void Example_pipeline_compiles_without_errors_or_warnings(string example)
    {
        var result = PipelineCompiler.Compile(new FixtureTree(Path.Combine(ExamplesDir, example)), ".runner.yml",
            new TriggerContext { Branch = "main", Commit = "0123456789abcdef0123456789abcdef01234567" });
        var refused = Path.Combine(ExamplesDir, example, ".refused");
        if (File.Exists(refused))
        {
            // An example of what the language describes but this runner cannot run yet: refused, exactly as its .refused says.
            Assert.That(result.Diagnostics.Select(d => $"{d.Position.Line},{d.Position.Column} {d.Code}"),
                Is.EqualTo(File.ReadAllLines(refused).Where(l => l.Length > 0 && !l.StartsWith('#'))), string.Join("\n", result.Diagnostics));
            Assert.That(result.Plan, Is.Null);
            return;
        }

        Assert.That(result.Diagnostics, Is.Empty, string.Join("\n", result.Diagnostics));
        Assert.That(result.Plan!.Jobs, Is.Not.Empty);
        Assert.That(result.Plan.Jobs.SelectMany(j => j.Steps), Is.Not.Empty);
    }

    [TestCaseSource(nameof(InvalidFiles))]
    public void Invalid_file_reports_exactly_the_expected_diagnostics(string file)
    {
        var dir = Path.Combine(ExamplesDir, "invalid");
        var expected = File.ReadAllLines(Path.Combine(dir, Path.ChangeExtension(file, ".expected")))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

        var result = PipelineCompiler.Compile(new FixtureTree(dir), file, new TriggerContext { Branch = "main" });

        Assert.That(result.Plan, Is.Null);
        var actual = result.Diagnostics.Select(d => $"{d.Position.Line},{d.Position.Column} {d.Code}").ToList();
        Assert.That(actual, Is.EqualTo(expected), string.Join("\n", result.Diagnostics));
        Assert.That(result.Diagnostics.All(d => d.Position.File == file), "every diagnostic names the file");
    }

    [Test]
    public void Every_invalid_file_has_its_expected_diagnostics_beside_it()
    {
        foreach (var file in InvalidFiles())
        {
            Assert.That(File.Exists(Path.Combine(ExamplesDir, "invalid", Path.ChangeExtension(file, ".expected"))), file);
        }
    }
}
