using Ci.Runner.Tests.Cli;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests;

/// <summary>
/// Publishes the runner once per test run the way users get it, as one NativeAOT binary
/// (<c>dotnet publish -c Release src/Runner</c>), so the CLI tests run the product and not only the
/// JIT build: the two differ where it matters (native marshalling, trimming). Incremental: a few
/// seconds when nothing changed, about a minute from a clean clone.
/// </summary>
[SetUpFixture]
public sealed class PublishedRunner
{
    private static string? _binary;

    /// <summary>The published runner binary.</summary>
    public static string Binary => _binary ?? throw new InvalidOperationException("the runner is not published: PublishedRunner's set-up did not run");

    [OneTimeSetUp]
    public async Task PublishAsync()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "published");
        var result = await CliWrap.Cli.Wrap("dotnet")
            .WithArguments(["publish", Path.Combine(RunnerCli.RepositoryRoot, "src", "Runner", "Runner.csproj"), "-c", "Release", "-o", output, "-nologo", "-v", "q"])
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish of the runner failed ({result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
        }

        _binary = Path.Combine(output, "runner");
    }
}
