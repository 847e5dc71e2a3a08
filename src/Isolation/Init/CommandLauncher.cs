using System.Runtime.InteropServices;
using System.Text;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// Starts the container's first process in a new PID namespace (clone with CLONE_NEWPID, so this
/// process stays outside, in the host's, as the monitor). Everything the clone needs (paths,
/// argv, envp, groups, capability sets) is laid out in unmanaged memory beforehand, so that the
/// clone, a copy of a multi-threaded process, only makes system calls: it allocates nothing,
/// takes no lock and runs no managed runtime code before execve. Calls that glibc would
/// broadcast to every thread (setresuid and friends) are made raw, as runc does. A failure is
/// reported as (step, errno) on a pipe that execve closes.
/// </summary>
/// <remarks>
/// Without <see cref="InitSpec.Init"/> the command is PID 1 (as with <c>docker run</c>). With it,
/// PID 1 is a minimal init, this program's clone: it forwards signals, reaps orphans, and its
/// exit takes the rest of the namespace with it (as with <c>docker run --init</c>).
/// </remarks>
internal sealed unsafe class CommandLauncher : IDisposable
{
    private const uint CapVersion3 = 0x20080522;
    private const int MaxSignal = 64;
    private const int CapKill = 5;
    private const int PrSetDumpable = 4;

    private readonly byte* _path;
    private readonly byte** _argv;
    private readonly byte** _envp;
    private readonly byte* _cwd;
    private readonly uint* _gids;
    private readonly int _gidCount;
    private readonly uint _uid;
    private readonly uint _gid;
    private readonly bool _noNewPrivs;
    private readonly bool _init;
    private readonly bool _interactive;
    private readonly int _terminal = -1;
    private readonly int[] _cgroups;
    private readonly bool _newCgroupNamespace;
    // Built once per process: a launcher makes many containers.
    private static readonly nint s_seccomp = (nint)SeccompFilter.Build();
    private static readonly ProcFilesystem s_proc = new();
    private static readonly byte* s_zero = ProcFilesystem.Utf8("0");
    private static readonly byte* s_devNull = ProcFilesystem.Utf8("/dev/null");

    // What this launcher allocated for its one container, freed by Dispose (a launcher lives on after it).
    private readonly List<nint> _owned = [];
    private readonly ulong _capMask;
    private readonly uint* _capHeader;
    private readonly uint* _capData;
    private readonly uint* _initCapData;
    private readonly string _display;
    private readonly int _stdout;
    private readonly int _stderr;

    // The shared parts, copied here before the clone: PID 1 must not be the first to touch a static (its initialiser would run there).
    private readonly void* _seccomp = (void*)s_seccomp;
    private readonly ProcFilesystem _proc = s_proc;
    private readonly byte* _zero = s_zero;
    private readonly byte* _devNull = s_devNull;

    // Shared with the clone (MAP_SHARED): [0] = 1 once the minimal init stored the command's wait status in [1].
    private readonly int* _shared;

    private enum Step
    {
        Groups = 1,
        Gid,
        Uid,
        Capabilities,
        NoNewPrivs,
        Seccomp,
        Chdir,
        Exec,
        Proc,
        Fork,
        Cgroup,
        CgroupNamespace,
    }

    private CommandLauncher(InitSpec spec, string executable, int terminal, int[] cgroups, int stdout, int stderr)
    {
        _terminal = terminal;
        _stdout = stdout;
        _stderr = stderr;
        _cgroups = cgroups;
        _newCgroupNamespace = spec.NewCgroupNamespace;
        _display = executable;
        _path = Own(ProcFilesystem.Utf8(executable));
        _argv = Utf8Array(spec.Args);
        _envp = Utf8Array(spec.Env);
        _cwd = Own(ProcFilesystem.Utf8(spec.WorkingDirectory));
        _gidCount = spec.AdditionalGids.Count;
        _gids = (uint*)Own(NativeMemory.Alloc((nuint)Math.Max(1, _gidCount), sizeof(uint)));
        for (var i = 0; i < _gidCount; i++)
        {
            _gids[i] = spec.AdditionalGids[i];
        }

        _uid = spec.Uid;
        _gid = spec.Gid;
        _noNewPrivs = spec.NoNewPrivileges;
        _init = spec.Init;
        _interactive = spec.Interactive;
        foreach (var cap in spec.Capabilities)
        {
            _capMask |= 1UL << cap;
        }

        // struct __user_cap_header_struct { u32 version; int pid; } and two __user_cap_data_struct { u32 effective, permitted, inheritable; }.
        _capHeader = (uint*)Own(NativeMemory.AllocZeroed(2, sizeof(uint)));
        _capHeader[0] = CapVersion3;
        _capData = (uint*)Own(NativeMemory.AllocZeroed(6, sizeof(uint)));
        _capData[0] = _capData[1] = (uint)_capMask;
        _capData[3] = _capData[4] = (uint)(_capMask >> 32);
        _initCapData = (uint*)Own(NativeMemory.AllocZeroed(6, sizeof(uint)));
        _initCapData[0] = _initCapData[1] = 1u << CapKill;

        _shared = (int*)mmap(null, 4096, ProtRead | ProtWrite, MapShared | MapAnonymous, -1, 0);
        if (_shared == (int*)-1)
        {
            throw new InitException("mmap(shared status page)", Errno);
        }
    }

    /// <summary>Resolves the command inside the (already pivoted) root and prepares its memory.</summary>
    /// <param name="terminal">The command's end of its own terminal (<see cref="Terminal"/>), or -1: then an interactive command keeps runner-init's stdin, stdout and stderr.</param>
    /// <param name="cgroups">Open descriptors of the container's cgroup.procs files, which PID 1 writes itself into first.</param>
    /// <param name="stdout">The command's stdout (made its 1), or -1: runner-init's own.</param>
    /// <param name="stderr">The command's stderr (made its 2), or -1: runner-init's own.</param>
    public static CommandLauncher Prepare(InitSpec spec, int terminal = -1, int[]? cgroups = null, int stdout = -1, int stderr = -1)
    {
        if (spec.Args.Count == 0)
        {
            throw new InvalidOperationException("no command to run");
        }

        return new CommandLauncher(spec, Resolve(spec.Args[0], spec.Env), terminal, cgroups ?? [], stdout, stderr);
    }

    /// <summary>
    /// Clones PID 1 of the new namespace; returns its (host) pid once the command's execve has succeeded, or throws with the failed
    /// step. Called with <see cref="AllocationGate"/> held, which the clone needs.
    /// </summary>
    public int Start()
    {
        int* fds = stackalloc int[2];
        InitException.Check(pipe2(fds, OCloexec), "pipe2");
        var pid = Clone();
        if (pid == 0)
        {
            RunPid1(fds[1]);
        }

        InitException.Check(pid, "clone(CLONE_NEWPID)");
        _ = close(fds[1]);
        int* report = stackalloc int[2];
        nint n;
        AllocationGate.Lock.Exit(); // PID 1 is cloned: wait for its exec without the gate, so other containers' set-ups go on
        try
        {
            n = read(fds[0], report, 2 * sizeof(int));
        }
        finally
        {
            AllocationGate.Lock.Enter();
        }

        _ = close(fds[0]);
        if (n == 2 * sizeof(int))
        {
            int status;
            _ = waitpid(pid, &status, 0);
            var what = (Step)report[0] switch
            {
                Step.Exec => $"exec {_display}",
                Step.Chdir => "chdir to the working directory",
                Step.Groups => "setgroups",
                Step.Gid => $"setresgid({_gid})",
                Step.Uid => $"setresuid({_uid})",
                Step.Capabilities => "capset",
                Step.Seccomp => "prctl(PR_SET_SECCOMP)",
                Step.Proc => "mount(proc → /proc) and its masks",
                Step.Fork => "clone (the command under the init)",
                Step.Cgroup => "joining the container's cgroup (cgroup.procs)",
                Step.CgroupNamespace => "unshare(CLONE_NEWCGROUP)",
                _ => "prctl(no_new_privs)",
            };
            var message = $"{what}: {Marshal.GetPInvokeErrorMessage(report[1])}";
            throw report[0] == (int)Step.Exec ? InitException.ExecFailed(message[5..], report[1]) : new InitException(what, report[1]);
        }

        return pid;
    }

    /// <summary>clone(CLONE_NEWPID), with <see cref="AllocationGate"/> held (no collection under way), without the runtime's GC transition (<see cref="ChildCalls"/>).</summary>
    private static int Clone() => (int)ChildCalls.rawsyscall(SysClone, CloneNewPid | SigChld, 0, 0, 0, 0);

    /// <summary>How the command ended, given the wait status of PID 1.</summary>
    public InitResult Result(int pid1Status)
    {
        var status = _init && _shared[0] == 1 ? _shared[1] : pid1Status;
        return (status & 0x7f) == 0
            ? new InitResult((status >> 8) & 0xff, null, null)
            : new InitResult(null, status & 0x7f, null);
    }

    // PID 1 of the new namespace: system calls only.
    private void RunPid1(int errorPipe)
    {
        // If runner-init dies (or, in the launcher, the thread that cloned it ends), so does PID 1, and with it the namespace.
        _ = ChildCalls.prctl(PrSetPdeathsig, SigKill, 0, 0, 0);
        // Not dumpable from its first instruction (execve makes the command dumpable again): its memory is a copy of the
        // monitor's, a launcher's with other containers' specs (their environments) in it, and under --init it never execs.
        _ = ChildCalls.prctl(PrSetDumpable, 0, 0, 0, 0);

        // Into the container's cgroups before anything else (every process it starts is then counted there), and a cgroup
        // namespace rooted at them, so the container sees its own cgroup as /.
        foreach (var fd in _cgroups)
        {
            if (ChildCalls.write(fd, _zero, 1) != 1)
            {
                Fail(errorPipe, Step.Cgroup, ChildCalls.Errno);
            }
        }

        if (_newCgroupNamespace && ChildCalls.rawsyscall(SysUnshare, CloneNewCgroup, 0, 0, 0, 0) != 0)
        {
            Fail(errorPipe, Step.CgroupNamespace, ChildCalls.Errno);
        }

        if (_terminal >= 0)
        {
            // A session of its own whose controlling terminal is the container's: PID 1 leads it, the command joins it.
            _ = ChildCalls.setsid();
            _ = ChildCalls.rawioctl(_terminal, TiocSctty, 0);
            _ = ChildCalls.dup2(_terminal, 0);
            _ = ChildCalls.dup2(_terminal, 1);
            _ = ChildCalls.dup2(_terminal, 2);
        }
        else if (!_interactive)
        {
            _ = ChildCalls.setsid();

            // The command reads from /dev/null; runner-init's own stdin is the runner's lifeline (see Program).
            var devNull = ChildCalls.open(_devNull, 0);
            if (devNull > 0)
            {
                _ = ChildCalls.dup2(devNull, 0);
                _ = ChildCalls.close(devNull);
            }
        }

        // .NET ignores SIGPIPE and installs handlers; execve keeps ignored signals ignored, so restore the defaults.
        for (var sig = 1; sig < MaxSignal; sig++)
        {
            if (sig is not (9 or 19))
            {
                _ = ChildCalls.signal(sig, 0);
            }
        }

        if (_stdout >= 0)
        {
            _ = ChildCalls.dup2(_stdout, 1);
        }

        if (_stderr >= 0)
        {
            _ = ChildCalls.dup2(_stderr, 2);
        }

        // Nothing of the monitor's stays open here but the error pipe (close-on-exec): a launcher's other containers' output
        // and result files, which the minimal init (never exec'd) would otherwise hold for as long as it lives.
        if (errorPipe > 3)
        {
            _ = ChildCalls.rawsyscall(SysCloseRange, 3, errorPipe - 1, 0, 0, 0);
        }

        _ = ChildCalls.rawsyscall(SysCloseRange, errorPipe + 1, uint.MaxValue, 0, 0, 0);

        var procError = _proc.Mount();
        if (procError != 0)
        {
            Fail(errorPipe, Step.Proc, procError);
        }

        if (_init)
        {
            RunMinimalInit(errorPipe);
        }

        ExecCommand(errorPipe);
    }

    // runc's order (finalizeNamespace): bounding set, groups, ids, capabilities, no_new_privs, chdir, seccomp, execve.
    private void ExecCommand(int errorPipe)
    {
        ulong* emptyMask = stackalloc ulong[16];
        _ = ChildCalls.sigprocmask(2, emptyMask, null);

        for (var cap = 0; cap <= KernelCapabilities.Last; cap++)
        {
            if ((_capMask & (1UL << cap)) == 0)
            {
                _ = ChildCalls.prctl(PrCapbsetDrop, (ulong)cap, 0, 0, 0);
            }
        }

        if (ChildCalls.rawsyscall(SysSetgroups, _gidCount, (long)_gids, 0, 0, 0) != 0)
        {
            Fail(errorPipe, Step.Groups, ChildCalls.Errno);
        }

        if (ChildCalls.rawsyscall(SysSetresgid, _gid, _gid, _gid, 0, 0) != 0)
        {
            Fail(errorPipe, Step.Gid, ChildCalls.Errno);
        }

        if (ChildCalls.rawsyscall(SysSetresuid, _uid, _uid, _uid, 0, 0) != 0)
        {
            Fail(errorPipe, Step.Uid, ChildCalls.Errno);
        }

        // For uid 0 this narrows the sets to the kept ones; for other users setresuid already cleared them.
        if (_uid == 0 && ChildCalls.rawsyscall(SysCapset, (long)_capHeader, (long)_capData, 0, 0, 0) != 0)
        {
            Fail(errorPipe, Step.Capabilities, ChildCalls.Errno);
        }

        if (_noNewPrivs && ChildCalls.prctl(PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
        {
            Fail(errorPipe, Step.NoNewPrivs, ChildCalls.Errno);
        }

        if (ChildCalls.chdir(_cwd) != 0)
        {
            Fail(errorPipe, Step.Chdir, ChildCalls.Errno);
        }

        // Last before execve (runc's second seccomp slot): from here on the filter applies.
        if (ChildCalls.prctl(PrSetSeccomp, SeccompModeFilter, (ulong)_seccomp, 0, 0) != 0)
        {
            Fail(errorPipe, Step.Seccomp, ChildCalls.Errno);
        }

        _ = ChildCalls.execve(_path, _argv, _envp);
        Fail(errorPipe, Step.Exec, ChildCalls.Errno);
    }

    /// <summary>
    /// The minimal init (tini's loop): the command is its child; signals are blocked and taken with
    /// sigwaitinfo (a blocked signal reaches PID 1 even without a handler), forwarded to the
    /// command, and every exited child is reaped. When the command ends, its status goes to the
    /// shared page and init exits, which kills whatever is left in the namespace. Init itself
    /// keeps only CAP_KILL, cannot be ptraced, and runs under the same seccomp filter.
    /// </summary>
    private void RunMinimalInit(int errorPipe)
    {
        ulong* set = stackalloc ulong[16];
        foreach (var sig in (ReadOnlySpan<int>)[1, 2, 3, 10, 12, 15, SigChld])
        {
            set[0] |= 1UL << (sig - 1);
        }

        _ = ChildCalls.sigprocmask(0, set, null);
        var command = (int)ChildCalls.rawsyscall(SysClone, SigChld, 0, 0, 0, 0);
        if (command == 0)
        {
            ExecCommand(errorPipe);
        }

        if (command < 0)
        {
            Fail(errorPipe, Step.Fork, ChildCalls.Errno);
        }

        _ = ChildCalls.close(errorPipe);
        for (var cap = 0; cap <= KernelCapabilities.Last; cap++)
        {
            if (cap != CapKill)
            {
                _ = ChildCalls.prctl(PrCapbsetDrop, (ulong)cap, 0, 0, 0);
            }
        }

        _ = ChildCalls.rawsyscall(SysCapset, (long)_capHeader, (long)_initCapData, 0, 0, 0);
        _ = ChildCalls.prctl(PrSetNoNewPrivs, 1, 0, 0, 0);
        _ = ChildCalls.prctl(PrSetSeccomp, SeccompModeFilter, (ulong)_seccomp, 0, 0);

        byte* info = stackalloc byte[128];
        while (true)
        {
            var sig = ChildCalls.sigwaitinfo(set, info);
            if (sig != SigChld)
            {
                if (sig > 0)
                {
                    _ = ChildCalls.kill(command, sig);
                }

                continue;
            }

            int status;
            int pid;
            while ((pid = ChildCalls.waitpid(-1, &status, Wnohang)) > 0)
            {
                if (pid == command)
                {
                    _shared[1] = status;
                    _shared[0] = 1;
                    ChildCalls._exit(0);
                }
            }
        }
    }

    private static void Fail(int pipe, Step step, int errno)
    {
        int* report = stackalloc int[2];
        report[0] = (int)step;
        report[1] = errno;
        _ = ChildCalls.write(pipe, report, 2 * sizeof(int));
        ChildCalls._exit(127);
    }

    private static string Resolve(string command, IReadOnlyList<string> env)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            return command;
        }

        var path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var e in env)
        {
            if (e.StartsWith("PATH=", StringComparison.Ordinal))
            {
                path = e[5..];
                break;
            }
        }

        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = $"{dir}/{command}";
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        throw InitException.ExecFailed($"{command}: not found in PATH ({path})");
    }

    private static bool IsExecutable(string path)
    {
        try
        {
            return File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (IOException)
        {
            return false; // a dangling or looping symbolic link
        }
    }

    /// <summary>Frees what was laid out for the container (after PID 1 is reaped: its copy is its own).</summary>
    public void Dispose()
    {
        foreach (var p in _owned)
        {
            NativeMemory.Free((void*)p);
        }

        _owned.Clear();
        _ = munmap(_shared, 4096);
    }

    private T* Own<T>(T* p)
        where T : unmanaged
    {
        _owned.Add((nint)p);
        return p;
    }

    private void* Own(void* p)
    {
        _owned.Add((nint)p);
        return p;
    }

    private byte** Utf8Array(IReadOnlyList<string> items)
    {
        var array = (byte**)Own(NativeMemory.Alloc((nuint)items.Count + 1, (nuint)sizeof(byte*)));
        for (var i = 0; i < items.Count; i++)
        {
            array[i] = Own(ProcFilesystem.Utf8(items[i]));
        }

        array[items.Count] = null;
        return array;
    }
}
