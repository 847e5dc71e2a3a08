using System.Text.Json;

namespace Ci.Runner.Tests.Cli;

public sealed class ValidateAndPlanTests
{
    private static string Example(string name) => Path.Combine(RunnerCli.RepositoryRoot, "pipelines-examples", name);

    [Test]
    public async Task Validate_of_a_valid_example_exits_0_and_says_so()
    {
        var result = await RunnerCli.RunAsync(Example("c-make"), "validate");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput.Trim(), Is.EqualTo(".runner.yml: valid, 2 jobs"));
    }

    [Test]
    public async Task Validate_of_an_invalid_file_prints_positioned_diagnostics_and_exits_2()
    {
        var result = await RunnerCli.RunAsync(Example("invalid"), "validate", "-f", "typos.yml");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardOutput, Does.Contain("typos.yml(6,9): error PL0012: unknown key 'rnu' in a step (did you mean 'run'?)"));
        Assert.That(result.StandardOutput, Does.EndWith("typos.yml: 4 errors\n"));
    }

    [Test]
    public async Task Validate_json_gives_every_diagnostic_with_its_position()
    {
        var result = await RunnerCli.RunAsync(Example("invalid"), "validate", "-f", "graph.yml", "--json");

        using var json = JsonDocument.Parse(result.StandardOutput);
        var diagnostics = json.RootElement.GetProperty("diagnostics").EnumerateArray().ToList();
        Assert.That(json.RootElement.GetProperty("valid").GetBoolean(), Is.False);
        Assert.That(diagnostics.Select(d => d.GetProperty("code").GetString()), Is.EqualTo(new[] { "PL0020", "PL0021", "PL0022" }));
        Assert.That(diagnostics[1].GetProperty("message").GetString(), Is.EqualTo("dependency cycle: test → deploy → test"));
        Assert.That(diagnostics[1].GetProperty("line").GetInt32(), Is.EqualTo(9));
    }

    [Test]
    public async Task A_missing_pipeline_file_is_invalid_input()
    {
        var dir = Directory.CreateTempSubdirectory("runner-cli-").FullName;
        try
        {
            var result = await RunnerCli.RunAsync(dir, "validate");

            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.StandardOutput, Does.Contain("error PL0008: no pipeline file '.runner.yml'"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public async Task Plan_prints_the_tree_with_skips_for_the_given_branch()
    {
        var result = await RunnerCli.RunAsync(Example("dotnet-library"), "plan", "--branch", "main", "--commit", "abcdef0123456789");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput, Does.StartWith("pipeline dotnet-library (push, branch main, commit abcdef01)\n"));
        Assert.That(result.StandardOutput, Does.Contain("1. restore [cache: layer (key files src/Slugs/Slugs.csproj, src/Slugs/packages.lock.json, tests/Slugs.Tests/Slugs.Tests.csproj, tests/Slugs.Tests/packages.lock.json)]"));
        Assert.That(result.StandardOutput, Does.Contain("skipped: when.event does not include 'push'"));
    }

    [Test]
    public async Task Plan_json_describes_jobs_steps_and_limits()
    {
        var result = await RunnerCli.RunAsync(Example("python-matrix"), "plan", "--json", "--var", "EXTRA=1");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var jobs = json.RootElement.GetProperty("plan").GetProperty("jobs").EnumerateArray().ToList();
        Assert.That(jobs, Has.Count.EqualTo(6));
        Assert.That(jobs[0].GetProperty("id").GetString(), Is.EqualTo("test-3.11-slim-bookworm"));
        Assert.That(jobs[0].GetProperty("limits").GetProperty("memoryBytes").GetInt64(), Is.EqualTo(512L * 1024 * 1024));
        Assert.That(jobs[0].GetProperty("timeout").GetDouble(), Is.EqualTo(900));
        Assert.That(jobs[0].GetProperty("steps")[0].GetProperty("command")[0].GetString(), Is.EqualTo("/bin/sh"));
    }

    [TestCase("plan", "--event", "deploy")]
    [TestCase("plan", "--var", "no-equals")]
    [TestCase("validate", "--no-such-option")]
    [TestCase("frobnicate")]
    [TestCase]
    public async Task Bad_arguments_are_invalid_input_with_a_message(params string[] args)
    {
        var result = await RunnerCli.RunAsync(Example("c-make"), args);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.StartWith("runner: "));
    }

    [TestCase("runs", "-n", "abc", "runner: --limit: 'abc' is not a whole number")]
    [TestCase("exec", "--jobs", "many", "runner: --jobs: 'many' is not a whole number")]
    public async Task A_number_that_is_not_one_is_said_in_words_not_as_a_dotnet_type(string verb, string option, string value, string message)
    {
        var result = await RunnerCli.RunAsync(Example("c-make"), verb, option, value);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.StartWith(message + "\n").And.Not.Contain("System."));
    }

    [Test]
    public async Task A_mistyped_verb_gets_the_nearest_one()
    {
        var result = await RunnerCli.RunAsync(Example("c-make"), "exce");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.Contain("Did you mean 'runner exec'?"));
    }

    [TestCase]
    [TestCase("validate")]
    [TestCase("plan")]
    public async Task Every_verb_has_help(params string[] verb)
    {
        var result = await RunnerCli.RunAsync(RunnerCli.RepositoryRoot, [.. verb, "--help"]);

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.StandardOutput, Does.Contain("Usage:"));
        Assert.That(result.StandardOutput, Does.Contain("--json"));
    }

    [Test]
    public async Task Version_prints_the_builds_version_and_commit_and_with_a_verb_is_a_mistake()
    {
        var version = await RunnerCli.RunAsync(RunnerCli.RepositoryRoot, "--version");
        var misplaced = await RunnerCli.RunAsync(RunnerCli.RepositoryRoot, "--version", "validate");

        Assert.That(version.ExitCode, Is.EqualTo(0), version.StandardError);
        Assert.That(version.StandardOutput.Trim(), Does.Match(@"^\d+\.\d+\.\d+\+[0-9a-f]{40}$"), "version+commit, one line");
        using (var repository = new LibGit2Sharp.Repository(RunnerCli.RepositoryRoot))
        {
            Assert.That(version.StandardOutput.Trim(), Does.EndWith("+" + repository.Head.Tip.Sha), "the commit it was built from, not an older one");
        }

        Assert.That(misplaced.ExitCode, Is.Not.EqualTo(0), "only the bare flag takes the short way; the rest is System.CommandLine's");
    }

    [Test]
    public async Task Run_help_lists_v_once_for_the_volume_as_docker_does_and_verbose_long_only()
    {
        var result = await RunnerCli.RunAsync(RunnerCli.RepositoryRoot, "run", "--help");
        var lines = result.StandardOutput.Split('\n');

        Assert.That(result.ExitCode, Is.EqualTo(0));
        var shortV = lines.Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"(^|\s|,)-v(,|\s)")).ToList();
        Assert.That(shortV, Has.Count.EqualTo(1), result.StandardOutput);
        Assert.That(shortV[0], Does.Contain("--volume"));
        Assert.That(lines, Has.Some.Contains("--verbose"));
    }

    [TestCase("-v", "validate")]
    [TestCase("validate", "-v")]
    [TestCase("validate", "--verbose")]
    public async Task The_diagnostic_log_is_asked_for_before_or_after_the_verb(params string[] args)
    {
        var result = await RunnerCli.RunAsync(Example("c-make"), args);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardError, Does.Contain(" DBG Validating .runner.yml"));
    }
}
