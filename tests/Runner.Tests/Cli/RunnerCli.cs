using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Cli;

/// <summary>Runs the real runner program as a child process, as a user would.</summary>
internal static class RunnerCli
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "runner.dll");

    public static async Task<BufferedCommandResult> RunAsync(string workingDirectory, params string[] args) =>
        await CliWrap.Cli.Wrap("dotnet")
            .WithArguments([Dll, .. args])
            .WithWorkingDirectory(workingDirectory)
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();

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
