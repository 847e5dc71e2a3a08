using CliWrap.Buffered;

namespace Ci.Runner.Tests.Security;

/// <summary>
/// Issue 10, item 8: a pipeline gets secrets only from where the user put them on purpose (the
/// secrets file, --secret VAR), never the runner's own environment or settings. Real runs, as root.
/// </summary>
[Category("Security")]
public sealed class SecretSourceTests : ExecFixture
{
    private const string Password = "runner-git-password-9d1e";

    private string SecretsFile(string content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(Dir, "secrets-" + Guid.NewGuid().ToString("N")[..6] + ".env");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Test, CancelAfter(120_000)]
    public async Task A_pipeline_cannot_read_the_runners_settings_or_an_unlisted_variable_as_a_secret(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            secrets: [RUNNER_GIT_PASSWORD, { STOLEN: { from_env: RUNNER_GIT_PASSWORD } }, DEPLOY_TOKEN]
            jobs:
              steal:
                env: { A: "${{ secrets.RUNNER_GIT_PASSWORD }}", B: "${{ secrets.STOLEN }}", C: "${{ secrets.DEPLOY_TOKEN }}" }
                steps: ["printf '%s%s%s' \"$A\" \"$B\" \"$C\" | od -An -tx1 | tr -d ' \\n'"]
            """);

        var silent = await WithFixture(Cli.RunnerCli.Command(["exec", "-C", repo]), Path.Combine(Dir, "state"), ("RUNNER_GIT_PASSWORD", Password))
            .WithValidation(CliWrap.CommandResultValidation.None).ExecuteBufferedAsync(ct);
        var listed = await WithFixture(Cli.RunnerCli.Command(["exec", "-C", repo, "--secret", "RUNNER_GIT_PASSWORD"]), Path.Combine(Dir, "state"),
            ("RUNNER_GIT_PASSWORD", Password)).WithValidation(CliWrap.CommandResultValidation.None).ExecuteBufferedAsync(ct);

        Assert.That(silent.ExitCode, Is.EqualTo(2), silent.StandardOutput + silent.StandardError);
        Assert.That(silent.StandardError, Does.Contain("secret 'RUNNER_GIT_PASSWORD' has no value").And.Contain("secret 'STOLEN' has no value")
            .And.Contain("secret 'DEPLOY_TOKEN' has no value; put DEPLOY_TOKEN=VALUE in the --secrets-file, or pass the runner's variable with --secret DEPLOY_TOKEN"),
            "DEPLOY_TOKEN is in the runner's environment, but nobody listed it");
        Assert.That((listed.ExitCode, listed.StandardError.Trim()),
            Is.EqualTo((2, "runner: --secret RUNNER_GIT_PASSWORD: the runner's own settings (RUNNER_*) are never given to a pipeline")));
        // Hex, as the step prints it, so that masking could not have hidden a leak.
        Assert.That(silent.StandardOutput + listed.StandardOutput, Does.Not.Contain(Convert.ToHexStringLower("runner-git"u8.ToArray())[..8]).And.Not.Contain("[steal:1]"));
    }

    [Test, CancelAfter(120_000)]
    public async Task Secrets_come_from_the_secrets_file_and_are_masked(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            secrets: [NPM_TOKEN, { KEY: { from_env: CI_KEY } }]
            jobs:
              publish:
                env: { T: "${{ secrets.NPM_TOKEN }}", K: "${{ secrets.KEY }}" }
                steps: ["echo \"t=$T k=$K\"; printf '%s|%s' \"$T\" \"$K\" | sha256sum"]
            """);
        var file = SecretsFile("# the team's secrets\nexport NPM_TOKEN='npm tok # not a comment'\nKEY=\"line1\\nline2\"\n");

        var result = await ExecAsync(repo, "--secrets-file", file);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError + result.StandardOutput);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("npm tok # not a comment|line1\nline2"u8.ToArray()));
        Assert.That(result.StandardOutput, Does.Contain(expected), "single quotes keep '#', double quotes read \\n");
        Assert.That(result.StandardOutput, Does.Contain("t=*** k=***"));
        Assert.That(result.StandardOutput + result.StandardError, Does.Not.Contain("npm tok"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_secrets_file_others_can_read_or_with_a_bad_line_is_refused_without_showing_a_value(CancellationToken ct)
    {
        var repo = await RepositoryAsync("secrets: [A]\njobs:\n  j:\n    steps: [\"true\"]\n");
        var open = SecretsFile("A=visible-value\n", (UnixFileMode)0b110_100_100);
        var bad = SecretsFile("A=fine\nthis line holds sekrit-value\n");

        var readable = await ExecAsync(repo, "--secrets-file", open);
        var malformed = await ExecAsync(repo, "--secrets-file", bad);

        Assert.That((readable.ExitCode, readable.StandardError.Trim()), Is.EqualTo((2,
            $"runner: --secrets-file {open}: other users can read or write it (mode 644); 'chmod 600 {open}' and try again")));
        Assert.That((malformed.ExitCode, malformed.StandardError.Trim()), Is.EqualTo((2, $"runner: {bad}(2): expected NAME=VALUE (a name of letters, digits and _)")));
    }
}
