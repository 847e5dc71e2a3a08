using System.Reflection;

namespace Ci.Runner.Tests;

/// <summary>
/// The house's rules of direction: Pipeline and Isolation never know each other, Runner composes
/// them; inside Runner, the engine knows neither containers nor git nor its hosts.
/// </summary>
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
    private static string RunnerSource => Path.Combine(Cli.RunnerCli.RepositoryRoot, "src", "Runner");

    private static IEnumerable<(string File, int Line, string Text)> Lines(string folder) =>
        Directory.EnumerateFiles(Path.Combine(RunnerSource, folder), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Select((text, i) => (Path.GetRelativePath(RunnerSource, f), i + 1, text)))
            .Where(l => !l.Item3.TrimStart().StartsWith("//", StringComparison.Ordinal) && !l.Item3.TrimStart().StartsWith("///", StringComparison.Ordinal));

    /// <summary>The engine runs pipelines for every host and knows nothing of containers, git or a host: those come through its interfaces.</summary>
    [Test]
    public void The_engine_uses_nothing_of_Isolation_git_the_sources_the_backends_or_the_hosts()
    {
        string[] forbidden = ["Ci.Isolation", "Isolation.", "LibGit2Sharp", "Ci.Runner.Sources", "Ci.Runner.Backends", "Ci.Runner.Cli", "Ci.Runner.Output", "Ci.Runner.Settings", "Console."];
        var found = Lines("Engine").Where(l => forbidden.Any(f => l.Text.Contains(f, StringComparison.Ordinal))).Select(l => $"{l.File}({l.Line}): {l.Text.Trim()}").ToList();

        Assert.That(found, Is.Empty);
    }

    /// <summary>Hosts run pipelines through RunService; the graph scheduler and the job runner are the engine's own.</summary>
    [Test]
    public void Hosts_do_not_reach_into_the_scheduler()
    {
        var found = Lines("Cli").Concat(Lines("Output")).Where(l => l.Text.Contains("Scheduler", StringComparison.Ordinal) || l.Text.Contains("JobRunner", StringComparison.Ordinal))
            .Select(l => $"{l.File}({l.Line}): {l.Text.Trim()}").ToList();

        Assert.That(found, Is.Empty);
    }

    /// <summary>The engine's types do not expose Isolation's in their signatures either (what a source scan could miss: a type alias, a generated file).</summary>
    [Test]
    public void No_engine_type_has_an_isolation_type_in_its_signature()
    {
        var engine = Runner.GetTypes().Where(t => t.Namespace?.StartsWith("Ci.Runner.Engine", StringComparison.Ordinal) == true);
        var leaks = engine.SelectMany(t => t.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .SelectMany(m => m switch
                {
                    FieldInfo f => [f.FieldType],
                    PropertyInfo p => [p.PropertyType],
                    MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
                    ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
                    _ => [],
                })
                .Where(type => type.Assembly == Isolation || type.GenericTypeArguments.Any(a => a.Assembly == Isolation))
                .Select(type => $"{t.Name}: {type.Name}"))
            .ToList();

        Assert.That(leaks, Is.Empty);
    }
}

