using System.Text;
using Microsoft.Win32.SafeHandles;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// runner-init SPEC.json: makes the container's namespaces, sets it up and starts its PID 1 in a new PID namespace, then monitors it
/// from outside. Exit 0 after reporting the command's end; 125 when set-up failed. runner-init - : the same, started ahead of its
/// container (its start is off the container's path): the spec's path comes as the first line of stdin; end of file before it, exit 0.
/// </summary>
public static class Program
{
    private const int SetupFailed = 125;

    public static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: runner-init SPEC.json|- (started by the runner)");
            return 2;
        }

        var specPath = args[0] == "-" ? ReadSpecPath() : args[0];
        if (specPath is null)
        {
            return 0; // started ahead and not needed: the runner ended or let it go
        }

        InitSpec spec;
        SafeFileHandle resultFile;
        try
        {
            spec = InitWire.ReadSpec(File.ReadAllBytes(specPath));
            // The runner made it with room for the result: writing over it needs no new block on a full disk.
            resultFile = File.OpenHandle(spec.ResultFile, FileMode.OpenOrCreate, FileAccess.Write);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"runner-init: cannot read {specPath}: {ex.Message}");
            return SetupFailed;
        }

        Terminal? terminal = null;
        int[] cgroups = [];
        try
        {
            EnterNamespaces(spec);

            // Descriptors inherited from the runner must not reach the command (CVE-2024-21626).
            InitException.Check(syscall(SysCloseRange, 3, uint.MaxValue, CloseRangeCloexec), "close_range(3.., CLOEXEC)");
            // The container's cgroups are PID 1's to join, not ours: runner-init is the monitor and stays outside them, as conmon
            // and the shims do, so its threads and memory do not count against the container's limits. Opened here, while the
            // host's cgroup file systems are still in view; PID 1 writes itself into them before anything else.
            cgroups = spec.CgroupProcs.Select(procs =>
            {
                var fd = open(procs, OWronly | OCloexec, 0);
                InitException.Check(fd, $"open({procs})");
                return fd;
            }).ToArray();

            if (spec.NetworkNamespace is { } netns)
            {
                Network.Join(netns);
            }

            if (!spec.HostNetwork)
            {
                Network.LoopbackUp();
                Network.AllowUnprivilegedPing();
            }

            if (spec.DieWithRunner)
            {
                WatchRunner();
            }

            ProcessTitle.Set("init", Path.GetFileName(specPath)); // reads /proc, so before the new root
            RootFilesystem.Assemble(spec);
            SetHostname(spec.Hostname);
            terminal = Terminal.OpenFor(spec);
        }
        catch (Exception ex)
        {
            return SetupFailure(resultFile, ex);
        }

        CommandLauncher launcher;
        int pid1;
        long executed;
        var forwarding = Reaper.ForwardSignals();
        try
        {
            launcher = CommandLauncher.Prepare(spec, terminal?.Far ?? -1, cgroups);
            pid1 = launcher.Start();
            executed = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10; // Start returns once the command's execve succeeded
            foreach (var fd in cgroups)
            {
                _ = close(fd);
            }

            Reaper.Started(pid1);
            terminal?.Start();
        }
        catch (Exception ex)
        {
            return SetupFailure(resultFile, ex);
        }

        var status = Reaper.Wait(pid1);
        terminal?.Dispose();
        Report(resultFile, launcher.Result(status) with { ExecutedAt = executed });
        // Reported, and nothing of ours is left to flush: leave without the runtime's shut-down (about a millisecond of
        // every container's path, which the runtime waits for).
        GC.KeepAlive(forwarding);
        _exit(0);
        return 0;
    }

    /// <summary>
    /// New mount, UTS and IPC namespaces (and network, for network: none), with mount propagation
    /// private so nothing mounted here reaches the host. Namespaces belong to a thread, and the
    /// runtime's own threads stay where they were: that is harmless, because this (main) thread
    /// does every mount and clones PID 1, which inherits its namespaces. Doing it here and not
    /// through util-linux unshare saves an exec and a dynamic load at every container start.
    /// </summary>
    private static void EnterNamespaces(InitSpec spec)
    {
        var flags = CloneNewNs | CloneNewUts | CloneNewIpc | (spec.NewNetworkNamespace ? CloneNewNet : 0);
        InitException.Check(unshare(flags), "unshare(mount, uts, ipc" + (spec.NewNetworkNamespace ? ", net)" : ")"));
        InitException.Check(mount(null, "/", null, MsRec | MsPrivate, null), "make / private");
    }

    private static int SetupFailure(SafeFileHandle resultFile, Exception ex)
    {
        var stage = ex switch
        {
            InitSpecException => InitStage.Refused,
            InitException { IsExec: true } => InitStage.Exec,
            _ => InitStage.Setup,
        };
        Report(resultFile, new InitResult(null, null, ex.Message)
        {
            Stage = stage,
            Operation = (ex as InitException)?.Operation,
            Errno = (ex as InitException)?.Errno,
        });
        if (stage == InitStage.Setup)
        {
            Console.Error.WriteLine($"runner-init: {(ex is InitException ? ex.Message : ex.ToString())}");
        }

        return SetupFailed;
    }

    /// <summary>
    /// When the runner dies (killed, crashed), the write end of our stdin closes: kill the
    /// container's PID 1 at once, which takes its whole PID namespace with it.
    /// </summary>
    private static unsafe void WatchRunner()
    {
        var thread = new Thread(() =>
        {
            var buffer = stackalloc byte[64];
            while (true)
            {
                var n = read(0, buffer, 64);
                if (n == 0 || (n < 0 && Errno != Eintr))
                {
                    if (Reaper.Pid1 > 0)
                    {
                        _ = kill(Reaper.Pid1, SigKill);
                    }

                    _exit(137);
                }
            }
        })
        { IsBackground = true, Name = "runner-watch" };
        thread.Start();
    }

    /// <summary>The first line of stdin, read without reading past it (the rest of stdin is the lifeline); null at end of file.</summary>
    private static unsafe string? ReadSpecPath()
    {
        var line = new List<byte>(128);
        var buffer = stackalloc byte[1];
        while (line.Count < 4096)
        {
            var n = read(0, buffer, 1);
            if (n == 1)
            {
                if (buffer[0] == (byte)'\n')
                {
                    return Encoding.UTF8.GetString(line.ToArray());
                }

                line.Add(buffer[0]);
            }
            else if (n == 0 || Errno != Eintr)
            {
                return null;
            }
        }

        return null;
    }

    private static unsafe void SetHostname(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        fixed (byte* p = bytes)
        {
            InitException.Check(sethostname(p, bytes.Length), $"sethostname({name})");
        }
    }

    private static void Report(SafeFileHandle file, InitResult result)
    {
        var json = InitWire.WriteResult(result);
        try
        {
            RandomAccess.Write(file, json, 0);
        }
        catch (IOException ex)
        {
            // Past the room the runner left (a very long error) on a full disk: the runner reads "no result".
            Console.Error.WriteLine($"runner-init: cannot write the container's result: {ex.Message}");
        }
        finally
        {
            file.Dispose();
        }
    }
}
