using System.Runtime.InteropServices;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// The monitor's duty, from outside the container's PID namespace: forward the signals the
/// runtime sends to the container's PID 1, and wait for it. When PID 1 exits the kernel kills
/// and reaps the rest of its namespace; reaping orphans inside is PID 1's own job.
/// </summary>
internal static unsafe class Reaper
{
    private static readonly PosixSignal[] Forwarded =
        [PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP, (PosixSignal)10, (PosixSignal)12];

    /// <summary>Forwards this process's signals to the container's PID 1 (held until it exists); registered before it is cloned.</summary>
    public static IReadOnlyList<PosixSignalRegistration> ForwardSignals(Pid1Signals pid1)
    {
        var registrations = new List<PosixSignalRegistration>(Forwarded.Length);
        foreach (var sig in Forwarded)
        {
            registrations.Add(PosixSignalRegistration.Create(sig, ctx =>
            {
                ctx.Cancel = true;
                pid1.Signal(RawNumber(ctx.Signal));
            }));
        }

        return registrations;
    }

    /// <summary>Waits for PID 1; returns its raw wait status. <paramref name="beforeReap"/> runs once it has ended and before it
    /// is reaped: until then its number is still its own, so a signal sent before <paramref name="beforeReap"/> returns reaches
    /// no other process.</summary>
    public static int Wait(int pid1, Action beforeReap)
    {
        var info = stackalloc byte[128]; // siginfo_t
        while (waitid(PPid, pid1, info, WExited | WNowait) != 0 && Errno == Eintr)
        {
        }

        beforeReap();

        while (true)
        {
            int status;
            var pid = waitpid(pid1, &status, 0);
            if (pid == pid1)
            {
                return status;
            }

            if (pid == -1 && Errno != Eintr)
            {
                return SigKill; // cannot happen for our own child; report it as killed rather than hang
            }
        }
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
