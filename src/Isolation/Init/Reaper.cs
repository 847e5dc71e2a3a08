using System.Runtime.InteropServices;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// PID 1's duty: forward the signals the runtime sends to the command, reap every process
/// (orphans are re-parented to PID 1), and when the command ends, kill what it left behind.
/// </summary>
internal static unsafe class Reaper
{
    private static readonly PosixSignal[] Forwarded =
        [PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP, (PosixSignal)10, (PosixSignal)12];

    public static InitResult Run(int child)
    {
        var registrations = Forwarded.Select(sig => PosixSignalRegistration.Create(sig, ctx =>
        {
            ctx.Cancel = true;
            _ = kill(child, RawNumber(ctx.Signal));
        })).ToList();

        InitResult? result = null;
        while (true)
        {
            int status;
            var pid = waitpid(-1, &status, 0);
            if (pid == -1)
            {
                if (Errno == Eintr)
                {
                    continue;
                }

                break; // ECHILD: nothing left.
            }

            if (pid == child && result is null)
            {
                result = (status & 0x7f) == 0
                    ? new InitResult((status >> 8) & 0xff, null, null)
                    : new InitResult(null, status & 0x7f, null);

                // The command is done: whatever it left running goes with it (kill(-1) from PID 1 spares only PID 1).
                _ = kill(-1, SigKill);
            }
        }

        foreach (var r in registrations)
        {
            r.Dispose();
        }

        return result ?? new InitResult(null, null, "the command's exit status was lost");
    }

    private static int RawNumber(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGTERM => 15,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGHUP => 1,
        _ => (int)signal,
    };
}
