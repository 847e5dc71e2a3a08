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
    public void Runner_composes_both() => Assert.That(References(Runner), Does.Contain("Ci.Pipeline").And.Contain("Ci.Isolation"));
}
