namespace Ci.Runner.Cli;

/// <summary>The runner's exit codes: scripts and CI systems branch on them, so they never change meaning.</summary>
public static class ExitCodes
{
    /// <summary>Everything ran (or validated) and passed.</summary>
    public const int Ok = 0;

    /// <summary>A job failed (a step exited non-zero, was OOM-killed or timed out) and was not allowed to.</summary>
    public const int JobFailed = 1;

    /// <summary>The input was wrong: a pipeline file with errors, a bad argument, a bad image reference.</summary>
    public const int InvalidInput = 2;

    /// <summary>The runner or the machine failed: a bug, a full disk, a missing kernel feature.</summary>
    public const int InternalError = 3;

    /// <summary>Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
