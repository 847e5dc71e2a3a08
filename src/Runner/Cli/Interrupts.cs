using System.Runtime.InteropServices;

namespace Ci.Runner.Cli;

/// <summary>
/// Ctrl-C and SIGTERM, as a user of a build tool expects them: the first asks politely (steps get
/// SIGTERM and their grace period, jobs finish, caches and records are kept consistent, the
/// summary is printed); the second stops at once (containers are killed, then still cleaned up);
/// a third leaves immediately.
/// </summary>
internal static class Interrupts
{
    private static readonly CancellationTokenSource GracefulSource = new();
    private static readonly CancellationTokenSource ForcefulSource = new();
    private static int _count;
    private static List<PosixSignalRegistration>? _registrations;

    /// <summary>Cancelled at the first interrupt.</summary>
    public static CancellationToken Graceful => GracefulSource.Token;

    /// <summary>Cancelled at the second.</summary>
    public static CancellationToken Forceful => ForcefulSource.Token;

    /// <summary>While true (an interactive shell has the terminal), Ctrl-C is the shell's, not a stop of the run.</summary>
    public static bool Paused { get; set; }

    public static void Install()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    private static void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Paused && context.Signal == PosixSignal.SIGINT)
        {
            return;
        }

        switch (Interlocked.Increment(ref _count))
        {
            case 1:
                Console.Error.WriteLine("runner: stopping: SIGTERM to what runs, SIGKILL after its grace period (press Ctrl-C again to kill at once)");
                GracefulSource.Cancel();
                break;
            case 2:
                Console.Error.WriteLine("runner: killing what runs");
                ForcefulSource.Cancel();
                break;
            default:
                Environment.Exit(130);
                break;
        }
    }
}
