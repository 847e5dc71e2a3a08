using System.Text;
using Microsoft.Win32.SafeHandles;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// One container, made and monitored by the calling thread: new mount, UTS and IPC namespaces (and network, for network:
/// none) for this thread alone, the root file system pivoted into, then PID 1 cloned into a new PID namespace, waited for and
/// reported in the spec's result file. Runs as runner-init's whole life (its own process), or on a thread of the launcher:
/// namespaces, the root, the working directory and the umask belong to the thread that unshared them, so the launcher's other
/// threads, and other containers' threads, are not in them.
/// </summary>
internal static class ContainerRun
{
    private const int SetupFailed = 125;

    /// <summary>0 once the command's end is reported; 125 when set-up failed (reported too, when the result file could be opened).</summary>
    /// <param name="signals">Where signals for the container's PID 1 go (the launcher's requests, or this process's own signals).</param>
    /// <param name="ownProcess">This process is the container's alone: its stdin is the lifeline, its signals are PID 1's, it shows the spec's name.</param>
    public static int Execute(string specPath, Pid1Signals signals, bool ownProcess)
    {
        AllocationGate.Lock.Enter();
        try
        {
            return SetUpAndRun(specPath, signals, ownProcess);
        }
        finally
        {
            AllocationGate.Lock.Exit();
        }
    }

    /// <summary>With <see cref="AllocationGate"/> held; released only to wait (for PID 1's end, and, in CommandLauncher.Start, for its exec).</summary>
    private static int SetUpAndRun(string specPath, Pid1Signals signals, bool ownProcess)
    {
        InitSpec spec;
        SafeFileHandle resultFile;
        try
        {
            spec = InitWire.ReadSpec(SmallFiles.ReadAll(specPath));
            // The runner made it with room for the result: writing over it needs no new block on a full disk.
            resultFile = File.OpenHandle(spec.ResultFile, FileMode.OpenOrCreate, FileAccess.Write);
        }
        catch (Exception ex)
        {
            Stderr.WriteLine($"runner-init: cannot read {specPath}: {ex.Message}");
            return SetupFailed;
        }

        int stdout = -1, stderr = -1;
        Terminal? terminal = null;
        int[] cgroups = [];
        try
        {
            if (!ownProcess && (spec.Interactive || spec.StdoutPath is null || spec.StderrPath is null))
            {
                throw new InvalidOperationException("the launcher runs only containers whose output goes to FIFOs it is given (not interactive ones)");
            }

            stdout = OpenOutput(spec.StdoutPath);
            stderr = OpenOutput(spec.StderrPath);
            EnterNamespaces(spec);

            // The container's cgroups are PID 1's to join, not ours: runner-init is the monitor and stays outside them, as conmon
            // and the shims do, so its threads and memory do not count against the container's limits. Opened here, while the
            // host's cgroup file systems are still in view; PID 1 writes itself into them before anything else.
            cgroups = new int[spec.CgroupProcs.Count];
            Array.Fill(cgroups, -1);
            for (var i = 0; i < cgroups.Length; i++)
            {
                cgroups[i] = open(spec.CgroupProcs[i], OWronly | OCloexec, 0);
                InitException.Check(cgroups[i], $"open({spec.CgroupProcs[i]})");
            }

            if (spec.NetworkNamespace is { } netns)
            {
                Network.Join(netns);
            }

            if (!spec.HostNetwork)
            {
                Network.LoopbackUp();
                Network.AllowUnprivilegedPing();
            }

            if (ownProcess)
            {
                if (spec.DieWithRunner)
                {
                    WatchRunner(signals);
                }

                ProcessTitle.Set("init", Path.GetFileName(specPath)); // reads /proc, so before the new root
            }

            RootFilesystem.Assemble(spec);
            SetHostname(spec.Hostname);
            terminal = ownProcess ? Terminal.OpenFor(spec) : null;
        }
        catch (Exception ex)
        {
            CloseAll(cgroups, stdout, -1);
            return SetupFailure(resultFile, ex, stderr);
        }

        CommandLauncher? launcher = null;
        int pid1;
        long executed;
        var forwarding = ownProcess ? Reaper.ForwardSignals(signals) : null;
        try
        {
            launcher = CommandLauncher.Prepare(spec, terminal?.Far ?? -1, cgroups, stdout, stderr);
            pid1 = launcher.Start();
            executed = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10; // Start returns once the command's execve succeeded
            CloseAll(cgroups, stdout, stderr);
            signals.Started(pid1);

            terminal?.Start();
        }
        catch (Exception ex)
        {
            launcher?.Dispose();
            CloseAll(cgroups, stdout, -1);
            return SetupFailure(resultFile, ex, stderr);
        }

        int status;
        AllocationGate.Lock.Exit();
        try
        {
            status = Reaper.Wait(pid1, signals.Ended);
        }
        finally
        {
            AllocationGate.Lock.Enter();
        }

        terminal?.Dispose();
        Report(resultFile, launcher.Result(status) with { ExecutedAt = executed });
        launcher.Dispose();
        GC.KeepAlive(forwarding);
        return 0;
    }

    /// <summary>
    /// New mount, UTS and IPC namespaces (and network, for network: none), with mount propagation private so nothing mounted
    /// here reaches the host. Namespaces belong to a thread: this one does every mount and clones PID 1, which inherits them.
    /// </summary>
    private static void EnterNamespaces(InitSpec spec)
    {
        var flags = CloneNewNs | CloneNewUts | CloneNewIpc | (spec.NewNetworkNamespace ? CloneNewNet : 0);
        InitException.Check(unshare(flags), "unshare(mount, uts, ipc" + (spec.NewNetworkNamespace ? ", net)" : ")"));
        InitException.Check(mount(null, "/", null, MsRec | MsPrivate, null), "make / private");
    }

    /// <summary>Opens a FIFO the runtime reads (its own directory's, trusted); -1 for none.</summary>
    private static int OpenOutput(string? path)
    {
        if (path is null)
        {
            return -1;
        }

        var fd = open(path, OWronly | OCloexec, 0);
        InitException.Check(fd, $"open({path})");
        return fd;
    }

    private static void CloseAll(int[] fds, int stdout, int stderr)
    {
        foreach (var fd in (ReadOnlySpan<int>)[.. fds, stdout, stderr])
        {
            if (fd >= 0)
            {
                _ = close(fd);
            }
        }
    }

    private static int SetupFailure(SafeFileHandle resultFile, Exception ex, int stderr)
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
            Stderr.WriteLine($"runner-init: {(ex is InitException ? ex.Message : ex.ToString())}", stderr);
        }

        if (stderr >= 0)
        {
            _ = close(stderr);
        }

        return SetupFailed;
    }

    /// <summary>
    /// When the runner dies (killed, crashed), the write end of our stdin closes: kill the
    /// container's PID 1 at once, which takes its whole PID namespace with it.
    /// </summary>
    private static unsafe void WatchRunner(Pid1Signals signals)
    {
        var thread = new Thread(() =>
        {
            var buffer = stackalloc byte[64];
            while (true)
            {
                var n = read(0, buffer, 64);
                if (n == 0 || (n < 0 && Errno != Eintr))
                {
                    signals.Signal(SigKill);

                    _exit(137);
                }
            }
        })
        { IsBackground = true, Name = "runner-watch" };
        thread.Start();
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
            Stderr.WriteLine($"runner-init: cannot write the container's result: {ex.Message}");
        }
        finally
        {
            file.Dispose();
        }
    }
}
