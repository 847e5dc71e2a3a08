using Ci.Pipeline.Compilation;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Tests;

/// <summary>A throw-away repository directory for a test, deleted afterwards.</summary>
internal sealed class TempRepo : IDisposable
{
    public TempRepo()
    {
        Root = Directory.CreateTempSubdirectory("pipeline-test-").FullName;
    }

    public string Root { get; }

    public TempRepo With(string path, string content)
    {
        var full = Path.Combine(Root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return this;
    }

    public CompileResult Compile(string file = ".runner.yml", TriggerContext? trigger = null) =>
        PipelineCompiler.Compile(new FixtureTree(Root), file, trigger ?? new TriggerContext { Branch = "main" });

    public ExecutionPlan Plan(string yaml, TriggerContext? trigger = null)
    {
        With(".runner.yml", yaml);
        var result = Compile(trigger: trigger);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Diagnostics));
        return result.Plan!;
    }

    public IReadOnlyList<Diagnostic> Errors(string yaml)
    {
        With(".runner.yml", yaml);
        var result = Compile();
        Assert.That(result.Plan, Is.Null, "a file with errors must not yield a plan");
        return result.Errors.ToList();
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

internal static class RepositoryLayout
{
    /// <summary>The project's root directory (where Runner.slnx is), found from the test binaries.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runner.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Runner.slnx not found above the test directory");
    }
}
