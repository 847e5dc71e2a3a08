using System.Text;

namespace Ci.Pipeline.Tests.Yaml;

/// <summary>A pipeline file is UTF-8 text: other bytes are reported where they are, never replaced silently.</summary>
public sealed class EncodingTests
{
    private static CompileResultOf Compile(byte[] bytes)
    {
        var repo = new TempRepo();
        File.WriteAllBytes(Path.Combine(repo.Root, ".runner.yml"), bytes);
        return new CompileResultOf(repo, repo.Compile());
    }

    private sealed record CompileResultOf(TempRepo Repo, Ci.Pipeline.Compilation.CompileResult Result) : IDisposable
    {
        public void Dispose() => Repo.Dispose();
    }

    [Test]
    public void A_byte_that_is_not_utf8_is_an_error_at_its_line_and_column()
    {
        var bytes = Encoding.UTF8.GetBytes("jobs:\n  build:\n    steps:\n      - echo 'é").Concat(new byte[] { 0xFF }).Concat(Encoding.UTF8.GetBytes("'\n")).ToArray();
        using var compiled = Compile(bytes);

        Assert.That(compiled.Result.Plan, Is.Null);
        Assert.That(compiled.Result.Errors.Single().ToString(),
            Is.EqualTo(".runner.yml(4,16): error PL0009: byte 0xFF is not valid UTF-8; a pipeline file must be UTF-8 text (re-save it as UTF-8)"));
    }

    [Test]
    public void A_utf8_byte_order_mark_is_allowed()
    {
        using var compiled = Compile([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("jobs:\n  build:\n    steps: [\"echo é\"]\n")]);

        Assert.That(compiled.Result.Errors, Is.Empty, string.Join("\n", compiled.Result.Diagnostics));
        Assert.That(compiled.Result.Plan!.Jobs.Single().Steps.Single().Script, Is.EqualTo("echo é"));
    }
}
