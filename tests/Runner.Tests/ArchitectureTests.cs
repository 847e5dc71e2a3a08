using System.Reflection;

namespace Ci.Runner.Tests;

/// <summary>The house's one rule of direction: Pipeline and Isolation never know each other; Runner composes them.</summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly Pipeline = typeof(Ci.Pipeline.Compilation.PipelineCompiler).Assembly;
    private static readonly Assembly Isolation = Assembly.Load("Ci.Isolation");
    private static readonly Assembly Runner = typeof(Ci.Runner.Program).Assembly;

    private static IEnumerable<string> References(Assembly a) => a.GetReferencedAssemblies().Select(r => r.Name!);

    [Test]
    public void Pipeline_does_not_reference_Isolation_or_Runner() =>
        Assert.That(References(Pipeline), Has.None.AnyOf("Ci.Isolation", "runner"));

    [Test]
    public void Isolation_does_not_reference_Pipeline_or_Runner() =>
        Assert.That(References(Isolation), Has.None.AnyOf("Ci.Pipeline", "runner"));

    [Test]
    public void Runner_composes_both()
    {
        // Ci.Isolation is referenced at build time; it appears in the metadata once Runner uses a type of it.
        Assert.That(References(Runner), Does.Contain("Ci.Pipeline"));
        Assert.That(File.Exists(Path.Combine(AppContext.BaseDirectory, "Ci.Isolation.dll")), Is.True);
    }
}
