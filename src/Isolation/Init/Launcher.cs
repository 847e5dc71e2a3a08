using System.Text;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// runner-init --serve: one long-lived runner-init that makes every container of a runtime, so that no container pays a
/// process start (an exec and the .NET runtime's, about a third of a container's CPU on a small machine). Its stdin carries
/// the runtime's requests, one a line: <c>run ID SPEC.json</c> makes the container on a thread of its own
/// (<see cref="ContainerRun"/>); <c>signal ID N</c> sends signal N to its PID 1 (held until PID 1 exists). Its stdout
/// answers <c>done ID</c> once the container's result file is written. End of file on stdin means the runner is gone: every
/// PID 1 is killed, which takes its namespace with it, and the launcher exits. If the launcher itself dies, each PID 1 gets
/// SIGKILL from the kernel (its parent-death signal, set for the thread that cloned it).
/// </summary>
internal static class Launcher
{
    private static readonly Dictionary<string, Pid1Signals> s_running = new(StringComparer.Ordinal);
    private static readonly Lock s_answer = new();

    public static int Serve()
    {
        // Descriptors inherited from the runner must not reach any command (CVE-2024-21626).
        InitException.Check(syscall(SysCloseRange, 3, uint.MaxValue, CloseRangeCloexec), "close_range(3.., CLOEXEC)");
        // A container's PID 1 under --init is a clone of this process: it shows this command line, which must name no host path.
        ProcessTitle.Set("init");

        // Requests are read into a buffer allocated once, so that waiting for them allocates nothing; each is handled under the
        // AllocationGate.
        var buffer = new byte[64 << 10];
        var length = 0;
        while (ReadMore(buffer, ref length))
        {
            int end;
            while ((end = Array.IndexOf(buffer, (byte)'\n', 0, length)) >= 0)
            {
                lock (AllocationGate.Lock)
                {
                    Handle(Encoding.UTF8.GetString(buffer, 0, end));
                }

                Buffer.BlockCopy(buffer, end + 1, buffer, 0, length - end - 1);
                length -= end + 1;
            }
        }

        lock (s_running)
        {
            foreach (var signals in s_running.Values)
            {
                signals.Signal(SigKill);
            }
        }

        _exit(137);
        return 137;
    }

    private static void Handle(string line)
    {
        switch (line.Split(' ', 3))
        {
            case ["run", var id, var spec]:
                Run(id, spec);
                break;
            case ["signal", var id, var number] when int.TryParse(number, out var signal):
                Find(id)?.Signal(signal);
                break;
            default:
                Stderr.WriteLine($"runner-init: unknown request '{line}'");
                break;
        }
    }

    /// <summary>Reads what stdin has into the buffer's free end; false at end of file (or a line longer than the buffer).</summary>
    private static unsafe bool ReadMore(byte[] buffer, ref int length)
    {
        if (length == buffer.Length)
        {
            return false;
        }

        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = read(0, p + length, buffer.Length - length);
                if (n > 0)
                {
                    length += (int)n;
                    return true;
                }

                if (n == 0 || Errno != Eintr)
                {
                    return false;
                }
            }
        }
    }

    private static void Run(string id, string specPath)
    {
        var signals = new Pid1Signals();
        lock (s_running)
        {
            s_running[id] = signals;
        }

        var thread = new Thread(() =>
        {
            try
            {
                ContainerRun.Execute(specPath, signals, ownProcess: false);
            }
            catch (Exception ex)
            {
                lock (AllocationGate.Lock)
                {
                    Stderr.WriteLine($"runner-init: container {id}: {ex}");
                }
            }
            finally
            {
                lock (AllocationGate.Lock)
                {
                    lock (s_running)
                    {
                        s_running.Remove(id);
                    }

                    Answer($"done {id}");
                }
            }
        })
        {
            IsBackground = true, // unnamed: PID 1, its clone, takes the thread's name as its own, and must stay runner-init on the host
        };
        thread.Start();
    }

    private static Pid1Signals? Find(string id)
    {
        lock (s_running)
        {
            return s_running.GetValueOrDefault(id);
        }
    }

    private static unsafe void Answer(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (s_answer)
        {
            fixed (byte* p = bytes)
            {
                _ = write(1, p, bytes.Length); // one write of less than PIPE_BUF: whole
            }
        }
    }
}
