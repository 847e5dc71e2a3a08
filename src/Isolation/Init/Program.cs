using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// runner-init SPEC.json: makes one container (<see cref="ContainerRun"/>) and monitors it from outside its PID namespace, as
/// its own process: the runner's stdin is the lifeline, a signal sent to it goes to PID 1. Exit 0 after reporting the
/// command's end; 125 when set-up failed. runner-init --serve: the launcher (<see cref="Launcher"/>), which makes every
/// container the runner asks for, each on a thread of its own, and lives as long as the runner.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        KernelCapabilities.Read();
        if (args is ["--serve"])
        {
            return Launcher.Serve();
        }

        if (args.Length != 1 || args[0].StartsWith('-'))
        {
            Stderr.WriteLine("usage: runner-init SPEC.json | --serve (started by the runner)");
            return 2;
        }

        // Descriptors inherited from the runner must not reach the command (CVE-2024-21626).
        InitException.Check(syscall(SysCloseRange, 3, uint.MaxValue, CloseRangeCloexec), "close_range(3.., CLOEXEC)");
        var code = ContainerRun.Execute(args[0], new Pid1Signals(), ownProcess: true);
        if (code == 0)
        {
            // Reported, and nothing of ours is left to flush: leave without the runtime's shut-down (about a millisecond of
            // every container's path, which the runtime waits for).
            _exit(0);
        }

        return code;
    }
}
