using System.Runtime.InteropServices;
using System.Text;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// Starts the container's command. Everything the child needs (paths, argv, envp, groups,
/// capability sets) is laid out in unmanaged memory before fork, so that the child, a copy of a
/// multi-threaded process, only makes system calls: it allocates nothing, takes no lock and runs
/// no managed runtime code before execve. A failure is reported as (step, errno) on a pipe that
/// execve closes.
/// </summary>
internal sealed unsafe class CommandLauncher
{
    private const uint CapVersion3 = 0x20080522;
    private const int MaxSignal = 64;

    private readonly byte* _path;
    private readonly byte** _argv;
    private readonly byte** _envp;
    private readonly byte* _cwd;
    private readonly uint* _gids;
    private readonly int _gidCount;
    private readonly uint _uid;
    private readonly uint _gid;
    private readonly bool _noNewPrivs;
    private readonly ulong _capMask;
    private readonly uint* _capHeader;
    private readonly uint* _capData;
    private readonly string _display;
    private readonly byte* _devNull = Utf8("/dev/null");
    private readonly void* _seccomp = SeccompFilter.Build();

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
    }

    private CommandLauncher(InitSpec spec, string executable)
    {
        _display = executable;
        _path = Utf8(executable);
        _argv = Utf8Array(spec.Args);
        _envp = Utf8Array(spec.Env);
        _cwd = Utf8(spec.WorkingDirectory);
        _gidCount = spec.AdditionalGids.Count;
        _gids = (uint*)NativeMemory.Alloc((nuint)Math.Max(1, _gidCount), sizeof(uint));
        for (var i = 0; i < _gidCount; i++)
        {
            _gids[i] = spec.AdditionalGids[i];
        }

        _uid = spec.Uid;
        _gid = spec.Gid;
        _noNewPrivs = spec.NoNewPrivileges;
        foreach (var cap in spec.Capabilities)
        {
            _capMask |= 1UL << cap;
        }

        // struct __user_cap_header_struct { u32 version; int pid; } and two __user_cap_data_struct { u32 effective, permitted, inheritable; }.
        _capHeader = (uint*)NativeMemory.AllocZeroed(2, sizeof(uint));
        _capHeader[0] = CapVersion3;
        _capData = (uint*)NativeMemory.AllocZeroed(6, sizeof(uint));
        _capData[0] = _capData[1] = (uint)_capMask;
        _capData[3] = _capData[4] = (uint)(_capMask >> 32);
    }

    /// <summary>Resolves the command inside the (already pivoted) root and prepares its memory.</summary>
    public static CommandLauncher Prepare(InitSpec spec)
    {
        if (spec.Args.Count == 0)
        {
            throw new InvalidOperationException("no command to run");
        }

        return new CommandLauncher(spec, Resolve(spec.Args[0], spec.Env));
    }

    /// <summary>Forks and execs; returns the child's pid once execve has succeeded, or throws with the failed step.</summary>
    public int Start()
    {
        int* fds = stackalloc int[2];
        InitException.Check(pipe2(fds, OCloexec), "pipe2");
        var pid = fork();
        if (pid == 0)
        {
            RunChild(fds[1]);
        }

        InitException.Check(pid, "fork");
        _ = close(fds[1]);
        int* report = stackalloc int[2];
        var n = read(fds[0], report, 2 * sizeof(int));
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
                _ => "prctl(no_new_privs)",
            };
            var message = $"{what}: {Marshal.GetPInvokeErrorMessage(report[1])}";
            throw report[0] == (int)Step.Exec ? InitException.ExecFailed(message[5..]) : new InitException(what, report[1]);
        }

        return pid;
    }

    // The child: system calls only, in runc's order (finalizeNamespace): bounding set, groups, ids, capabilities, no_new_privs, chdir, execve.
    private void RunChild(int errorPipe)
    {
        _ = setsid();

        // The command reads from /dev/null; init's own stdin is the runner's lifeline (see Program).
        var devNull = open(_devNull, 0);
        if (devNull > 0)
        {
            _ = dup2(devNull, 0);
            _ = close(devNull);
        }

        // .NET ignores SIGPIPE and installs handlers; execve keeps ignored signals ignored, so restore the defaults.
        for (var sig = 1; sig < MaxSignal; sig++)
        {
            if (sig is not (9 or 19))
            {
                _ = signal(sig, 0);
            }
        }

        ulong* emptyMask = stackalloc ulong[16];
        _ = sigprocmask(2, emptyMask, null);

        for (var cap = 0; cap < 64; cap++)
        {
            if ((_capMask & (1UL << cap)) == 0)
            {
                _ = prctl(PrCapbsetDrop, (ulong)cap, 0, 0, 0);
            }
        }

        if (setgroups(_gidCount, _gids) != 0)
        {
            Fail(errorPipe, Step.Groups);
        }

        if (setresgid(_gid, _gid, _gid) != 0)
        {
            Fail(errorPipe, Step.Gid);
        }

        if (setresuid(_uid, _uid, _uid) != 0)
        {
            Fail(errorPipe, Step.Uid);
        }

        // For uid 0 this narrows the sets to the kept ones; for other users setresuid already cleared them.
        if (_uid == 0 && syscall(SysCapset, (long)_capHeader, (long)_capData, 0) != 0)
        {
            Fail(errorPipe, Step.Capabilities);
        }

        if (_noNewPrivs && prctl(PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
        {
            Fail(errorPipe, Step.NoNewPrivs);
        }

        if (chdir(_cwd) != 0)
        {
            Fail(errorPipe, Step.Chdir);
        }

        // Last before execve (runc's second seccomp slot): from here on the filter applies.
        if (prctl(PrSetSeccomp, SeccompModeFilter, (ulong)_seccomp, 0, 0) != 0)
        {
            Fail(errorPipe, Step.Seccomp);
        }

        _ = execve(_path, _argv, _envp);
        Fail(errorPipe, Step.Exec);
    }

    private static void Fail(int pipe, Step step)
    {
        int* report = stackalloc int[2];
        report[0] = (int)step;
        report[1] = Errno;
        _ = write(pipe, report, 2 * sizeof(int));
        _exit(127);
    }

    private static string Resolve(string command, IReadOnlyList<string> env)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            return command;
        }

        var path = env.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..]
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
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

    private static byte* Utf8(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }

    private static byte** Utf8Array(IReadOnlyList<string> items)
    {
        var array = (byte**)NativeMemory.Alloc((nuint)items.Count + 1, (nuint)sizeof(byte*));
        for (var i = 0; i < items.Count; i++)
        {
            array[i] = Utf8(items[i]);
        }

        array[items.Count] = null;
        return array;
    }
}
