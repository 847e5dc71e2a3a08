using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Cli;

/// <summary>Runs the real runner program as a child process, as a user would.</summary>
internal static class RunnerCli
{
    /// <summary>The published NativeAOT runner with <paramref name="args"/>, not started; its exit code is the test's to check.</summary>
    public static Command Command(params string[] args) =>
        CliWrap.Cli.Wrap(PublishedRunner.Binary).WithArguments(args).WithValidation(CommandResultValidation.None);

    /// <summary>The JIT build beside the tests (what <c>dotnet run --project src/Runner</c> runs), not started.</summary>
    public static Command JitCommand(params string[] args) =>
        CliWrap.Cli.Wrap("dotnet").WithArguments([Path.Combine(AppContext.BaseDirectory, "runner.dll"), .. args]).WithValidation(CommandResultValidation.None);

    public static async Task<BufferedCommandResult> RunAsync(string workingDirectory, params string[] args) =>
        await Command(args).WithWorkingDirectory(workingDirectory).ExecuteBufferedAsync();

    /// <summary>The project's root directory (where Runner.slnx is).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runner.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Runner.slnx not found");
    }
}
