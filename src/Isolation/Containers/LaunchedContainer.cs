using System.IO.Pipes;
using Ci.Isolation.Native;
using Microsoft.Win32.SafeHandles;

namespace Ci.Isolation.Containers;

/// <summary>
/// A container that the runtime's <see cref="InitLauncher"/> makes. Its output comes through two FIFOs in its directory
/// (<c>o</c> and <c>e</c>, 0600, the runtime's own), which the launcher opens for the command; the runtime holds a write end of
/// each until the launcher answers, so that reading them never ends before the command has them.
/// </summary>
internal sealed class LaunchedContainer : IContainerMonitor
{
    private readonly InitLauncher _launcher;
    private readonly string _id;
    private readonly CancellationTokenSource _forceful = new();

    private LaunchedContainer(InitLauncher launcher, string id)
    {
        _launcher = launcher;
        _id = id;
        _forceful.Token.Register(() => _launcher.Signal(_id, Libc.SigKill));
    }

    public Task Ended { get; private set; } = Task.CompletedTask;

    /// <summary>The FIFOs' paths, for the spec, before <see cref="Start"/>.</summary>
    public static (string Stdout, string Stderr) OutputPaths(string dir) => (Path.Combine(dir, "o"), Path.Combine(dir, "e"));

    public static LaunchedContainer Start(InitLauncher launcher, string id, string dir, string specPath, Action<OutputLine>? output)
    {
        var (stdoutPath, stderrPath) = OutputPaths(dir);
        var stdout = OpenFifo(stdoutPath);
        (Stream Read, SafeFileHandle Held) stderr;
        try
        {
            stderr = OpenFifo(stderrPath);
        }
        catch
        {
            stdout.Read.Dispose();
            stdout.Held.Dispose();
            throw;
        }

        var container = new LaunchedContainer(launcher, id);
        container.Ended = container.RunAsync(specPath, stdout, stderr, output);
        return container;
    }

    public void Terminate() => _launcher.Signal(_id, Libc.SigTerm);

    public void Kill() => _forceful.Cancel();

    public void KillAfter(TimeSpan delay) => _forceful.CancelAfter(delay);

    /// <summary>Nothing to let go: a SIGKILL still timed (<see cref="KillAfter"/>) names an ended container, which the launcher ignores.</summary>
    public void Release()
    {
    }

    private async Task RunAsync(string specPath, (Stream Read, SafeFileHandle Held) stdout, (Stream Read, SafeFileHandle Held) stderr,
        Action<OutputLine>? output)
    {
        var reading = Task.WhenAll(ReadLinesAsync(stdout.Read, OutputStream.Stdout, output), ReadLinesAsync(stderr.Read, OutputStream.Stderr, output));
        try
        {
            if (!await _launcher.RunAsync(_id, specPath))
            {
                // PID 1 died with it (its parent-death signal): without this line the user would read only "killed (signal 9)".
                output?.Invoke(new OutputLine(OutputStream.Stderr,
                    "runner: runner-init, which made this container, ended before it did, and the container was killed with it " +
                    "(the runner's log has what runner-init said)", DateTimeOffset.UtcNow));
            }
        }
        finally
        {
            stdout.Held.Dispose();
            stderr.Held.Dispose();
            await reading; // to the end: the command and everything it started are gone, so are their write ends
        }
    }

    private static (Stream Read, SafeFileHandle Held) OpenFifo(string path)
    {
        if (Libc.mknodat(Libc.AtFdcwd, path, Libc.SIfifo | 0x180, 0) != 0)
        {
            throw new IsolationException($"mkfifo({path}): {Libc.Describe(Libc.LastError)}");
        }

        // The read end first, non-blocking (no writer yet); then a write end of ours, which does not block once a reader exists.
        var read = Libc.openat(Libc.AtFdcwd, path, Libc.ORdonly | Libc.ONonblock | Libc.OCloexec | Libc.ONofollow, 0);
        if (read < 0)
        {
            throw new IsolationException($"open({path}): {Libc.Describe(Libc.LastError)}");
        }

        var readHandle = new SafePipeHandle(read, ownsHandle: true);
        var held = Libc.openat(Libc.AtFdcwd, path, Libc.OWronly | Libc.OCloexec | Libc.ONofollow, 0);
        if (held < 0)
        {
            readHandle.Dispose();
            throw new IsolationException($"open({path}): {Libc.Describe(Libc.LastError)}");
        }

        return (new AnonymousPipeClientStream(PipeDirection.In, readHandle), new SafeFileHandle(held, ownsHandle: true));
    }

    private static async Task ReadLinesAsync(Stream stream, OutputStream kind, Action<OutputLine>? output)
    {
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            output?.Invoke(new OutputLine(kind, line, DateTimeOffset.UtcNow));
        }
    }
}
