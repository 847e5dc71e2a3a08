using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>runner-init SPEC.json: PID 1 of a container. Exit 0 after reporting the command's end; 125 when set-up failed.</summary>
public static class Program
{
    private const int SetupFailed = 125;

    public static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: runner-init SPEC.json (started by the runner, inside new namespaces)");
            return 2;
        }

        InitSpec spec;
        SafeFileHandle resultFile;
        try
        {
            spec = JsonSerializer.Deserialize(File.ReadAllText(args[0]), InitJson.Default.InitSpec)
                ?? throw new InvalidDataException("empty spec");
            resultFile = File.OpenHandle(spec.ResultFile, FileMode.Create, FileAccess.Write);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"runner-init: cannot read {args[0]}: {ex.Message}");
            return SetupFailed;
        }

        int child;
        try
        {
            // Descriptors inherited from the runner must not reach the command (CVE-2024-21626).
            InitException.Check(syscall(SysCloseRange, 3, uint.MaxValue, CloseRangeCloexec), "close_range(3.., CLOEXEC)");
            foreach (var procs in spec.CgroupProcs)
            {
                File.WriteAllText(procs, "0");
            }

            if (spec.NetworkNamespace is { } netns)
            {
                Network.Join(netns);
            }

            if (!spec.HostNetwork)
            {
                Network.LoopbackUp();
            }

            if (spec.NewCgroupNamespace)
            {
                InitException.Check(unshare(CloneNewCgroup), "unshare(CLONE_NEWCGROUP)");
            }

            if (spec.DieWithRunner)
            {
                WatchRunner();
            }

            RootFilesystem.Assemble(spec);
            SetHostname(spec.Hostname);
            child = CommandLauncher.Prepare(spec).Start();
        }
        catch (Exception ex)
        {
            Report(resultFile, new InitResult(null, null, ex.Message));
            if (!ex.Message.StartsWith("exec ", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"runner-init: {(ex is InitException ? ex.Message : ex.ToString())}");
            }
            return SetupFailed;
        }

        Report(resultFile, Reaper.Run(child));
        return 0;
    }

    /// <summary>
    /// When the runner dies (killed, crashed), the write end of our stdin closes: kill everything in
    /// the container at once. unshare's --kill-child does not cover this, because nothing kills
    /// unshare when the runner dies.
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
                    _ = kill(-1, SigKill);
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
        var json = JsonSerializer.SerializeToUtf8Bytes(result, InitJson.Default.InitResult);
        RandomAccess.Write(file, json, 0);
        file.Dispose();
    }
}
