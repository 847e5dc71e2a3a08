using System.ComponentModel;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Sources;

/// <summary>
/// The user's git credential helpers (credential.helper in their git config: store, cache,
/// libsecret, a token manager), asked through <c>git credential fill</c> as git itself does, so a
/// remote that git can fetch without a prompt the runner can fetch too. Never prompts
/// (GIT_TERMINAL_PROMPT=0); without git, or with no helper that knows the URL, there is nothing.
/// </summary>
public static class GitCredentialHelper
{
    /// <summary>The user name and password a helper has for <paramref name="url"/>, or null.</summary>
    public static (string Username, string Password)? Fill(string url)
    {
        var output = Run("fill", $"url={url}\n\n");
        if (output is null)
        {
            return null;
        }

        var fields = output.Split('\n').Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return fields.TryGetValue("password", out var password) && password.Length > 0
            ? (fields.GetValueOrDefault("username") ?? "", password)
            : null;
    }

    /// <summary>Tells the helpers that the credentials worked (they may keep them) or did not (they forget them), as git does after a fetch.</summary>
    public static void Report(string url, (string Username, string Password) credentials, bool worked) =>
        Run(worked ? "approve" : "reject", $"url={url}\nusername={credentials.Username}\npassword={credentials.Password}\n\n");

    private static string? Run(string verb, string input)
    {
        try
        {
            var result = CliWrap.Cli.Wrap("git").WithArguments(["credential", verb])
                .WithEnvironmentVariables(e => e.Set("GIT_TERMINAL_PROMPT", "0").Set("GIT_ASKPASS", "").Set("SSH_ASKPASS", ""))
                .WithStandardInputPipe(PipeSource.FromString(input))
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync().GetAwaiter().GetResult();
            return result.ExitCode == 0 ? result.StandardOutput : null;
        }
        catch (Win32Exception)
        {
            return null; // no git on PATH: no helpers either
        }
    }
}
