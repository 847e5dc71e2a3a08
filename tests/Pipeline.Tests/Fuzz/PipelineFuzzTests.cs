using System.Text;
using Ci.Pipeline.Compilation;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Tests.Fuzz;

/// <summary>
/// Feeds thousands of mutated and random documents to the front end. Each one must end, within a
/// bound, in either a plan or positioned diagnostics with known codes: never an exception, a hang
/// or a plan alongside errors. The seed is fixed so a failure reproduces; RUNNER_FUZZ_SEED varies it.
/// </summary>
[Category("Fuzz")]
public sealed class PipelineFuzzTests
{
    private const int Documents = 4000;
    private static readonly TimeSpan PerDocumentBound = TimeSpan.FromSeconds(10);

    private static readonly string[] Tokens =
    [
        ":", " ", "  ", "\n", "\n  ", "\n    ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "<<: *a", "!tag ", "|", ">", "'", "\"", "#",
        "${{", "}}", "${{ matrix.x }}", "${{ secrets.T }}", "jobs", "steps", "run", "needs", "matrix", "env", "image", "on", "push",
        "cache: layer", "key_files", "timeout: 5m", "memory: 2Gi", "cpus: 1.5", "if: ", "&&", "||", "==", "(", ")", "true", "null",
        "~", "---", "...", "\t", "\\", "%", "@", "`", "0x1F", "1e999", "-1", "é", "\u0000", "\uFEFF", "include: [x.yml]",
    ];

    [Test, CancelAfter(600_000)]
    public void Every_document_ends_in_a_plan_or_positioned_diagnostics(CancellationToken cancellationToken)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RUNNER_FUZZ_SEED"), out var s) ? s : 20261128;
        var random = new Random(seed);
        var corpus = Corpus();
        using var repo = new TempRepo();
        repo.With("x.yml", "jobs: { extra: { steps: [x] } }\n");
        var tree = new FixtureTree(repo.Root);
        var plans = 0;

        for (var i = 0; i < Documents && !cancellationToken.IsCancellationRequested; i++)
        {
            var doc = i % 10 == 9 ? RandomDocument(random) : Mutate(corpus[random.Next(corpus.Count)], random);
            File.WriteAllText(Path.Combine(repo.Root, ".runner.yml"), doc);

            var task = Task.Run(() => PipelineCompiler.Compile(tree, ".runner.yml", new TriggerContext { Branch = "main" }), cancellationToken);
            Assert.That(task.Wait(PerDocumentBound, cancellationToken), Is.True, $"seed {seed}, document {i} did not finish:\n{doc}");
            var result = task.Result;

            var errors = result.Errors.ToList();
            Assert.That(result.Plan is null == errors.Count > 0, Is.True, $"seed {seed}, document {i}: a plan and errors together, or neither:\n{doc}");
            foreach (var d in result.Diagnostics)
            {
                Assert.That(d.Position.Line >= 1 && d.Position.Column >= 1 && d.Position.File.Length > 0, Is.True, $"unpositioned {d}\n{doc}");
                Assert.That(DiagnosticCodes.All.ContainsKey(d.Code), Is.True, $"unknown code {d}");
                Assert.That(d.Message, Is.Not.Empty);
            }

            plans += result.Succeeded ? 1 : 0;
        }

        // Mutations that keep a file valid must happen too, or the test only exercises error paths.
        Assert.That(plans, Is.GreaterThan(Documents / 50), "too few mutated documents compiled; the mutations are too coarse");
        TestContext.Out.WriteLine($"seed {seed}: {plans} of {Documents} documents compiled to a plan");
    }

    private static List<string> Corpus()
    {
        var examples = Path.Combine(RepositoryLayout.Root, "pipelines-examples");
        return Directory.GetFiles(examples, "*.yml", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(examples, ".runner.yml", SearchOption.AllDirectories))
            .Distinct()
            .Select(File.ReadAllText)
            .ToList();
    }

    private static string Mutate(string text, Random random)
    {
        var rounds = random.Next(1, 4);
        for (var r = 0; r < rounds; r++)
        {
            var lines = text.Split('\n').ToList();
            switch (random.Next(8))
            {
                case 0 when text.Length > 0:
                    var at = random.Next(text.Length);
                    text = text[..at] + Tokens[random.Next(Tokens.Length)] + text[at..];
                    break;
                case 1 when text.Length > 1:
                    var from = random.Next(text.Length);
                    text = text.Remove(from, Math.Min(random.Next(1, 20), text.Length - from));
                    break;
                case 2 when lines.Count > 1:
                    lines.RemoveAt(random.Next(lines.Count));
                    text = string.Join('\n', lines);
                    break;
                case 3 when lines.Count > 1:
                    var line = random.Next(lines.Count);
                    lines.Insert(random.Next(lines.Count), lines[line]);
                    text = string.Join('\n', lines);
                    break;
                case 4 when lines.Count > 1:
                    var l = random.Next(lines.Count);
                    lines[l] = random.Next(2) == 0 ? "  " + lines[l] : lines[l].TrimStart();
                    text = string.Join('\n', lines);
                    break;
                case 5:
                    text = text[..random.Next(text.Length + 1)];
                    break;
                case 6 when text.Length > 0:
                    var p = random.Next(text.Length);
                    var chars = text.ToCharArray();
                    chars[p] = (char)random.Next(32, 127);
                    text = new string(chars);
                    break;
                default:
                    // A small change that keeps the file valid more often than not.
                    text = text.Replace("5m", random.Next(2) == 0 ? "15m" : "5 minutes", StringComparison.Ordinal);
                    break;
            }
        }

        return text;
    }

    private static string RandomDocument(Random random)
    {
        var sb = new StringBuilder();
        var n = random.Next(1, 200);
        for (var i = 0; i < n; i++)
        {
            sb.Append(Tokens[random.Next(Tokens.Length)]);
        }

        return sb.ToString();
    }
}
