using System.Runtime.InteropServices;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// The container's own terminal, for an interactive command (the --shell-on-failure shell) when
/// the user's side is a terminal: a pseudo-terminal from the container's devpts instance
/// (/dev/ptmx), whose far end becomes the command's controlling terminal and its stdin, stdout and
/// stderr, so <c>tty</c>, job control, prompts and line editing work. runner-init passes bytes
/// between the user's terminal (put in raw mode, restored after) and the near end, and passes
/// window size changes on, as <c>docker run -it</c> and crun's console socket do. The host's
/// terminal device itself never enters the container.
/// </summary>
internal sealed unsafe class Terminal : IDisposable
{
    private const ulong TiocGptn = 0x80045430, TiocSptlck = 0x40045431, TiocGwinsz = 0x5413, TiocSwinsz = 0x5414;
    private const int ORdwr = 2, ONoctty = 0x100, Eio = 5;

    private readonly byte[] _saved = new byte[64]; // struct termios is 60 bytes on Linux
    private bool _raw;
    private Thread? _output;
    private PosixSignalRegistration? _resize;

    private Terminal(int master, int far)
    {
        Master = master;
        Far = far;
    }

    /// <summary>The near end, which runner-init reads and writes.</summary>
    public int Master { get; }

    /// <summary>The command's end; closed in runner-init once the command has it.</summary>
    public int Far { get; private set; }

    /// <summary>A terminal for the command when it is interactive and runner-init's stdin is a terminal; null otherwise (a pipe stays a pipe).</summary>
    public static Terminal? OpenFor(InitSpec spec)
    {
        if (!spec.Interactive || isatty(0) != 1)
        {
            return null;
        }

        // In the container's root (after pivot_root): its own devpts instance, not the host's.
        var master = open("/dev/ptmx", ORdwr | ONoctty | OCloexec, 0);
        InitException.Check(master, "open(/dev/ptmx)");
        int unlock = 0, number;
        InitException.Check(ioctl(master, TiocSptlck, &unlock), "ioctl(TIOCSPTLCK)");
        InitException.Check(ioctl(master, TiocGptn, &number), "ioctl(TIOCGPTN)");
        var far = open($"/dev/pts/{number}", ORdwr | ONoctty | OCloexec, 0);
        InitException.Check(far, $"open(/dev/pts/{number})");
        var terminal = new Terminal(master, far);
        terminal.CopyWindowSize();
        return terminal;
    }

    /// <summary>Once the command has its end: the user's terminal goes raw and bytes flow both ways until the command's side closes.</summary>
    public void Start()
    {
        _ = close(Far);
        Far = -1;
        fixed (byte* saved = _saved)
        {
            if (tcgetattr(0, saved) == 0)
            {
                var raw = stackalloc byte[64];
                new Span<byte>(saved, 64).CopyTo(new Span<byte>(raw, 64));
                cfmakeraw(raw);
                _raw = tcsetattr(0, TcsaNow, raw) == 0;
            }
        }

        _resize = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => CopyWindowSize());
        new Thread(() => Pump(0, Master, untilError: false)) { IsBackground = true, Name = "terminal-in" }.Start();
        _output = new Thread(() => Pump(Master, 1, untilError: true)) { IsBackground = true, Name = "terminal-out" };
        _output.Start();
    }

    /// <summary>After the command ended: what it wrote last reaches the user, and the user's terminal is as it was.</summary>
    public void Dispose()
    {
        _output?.Join(TimeSpan.FromSeconds(2));
        _resize?.Dispose();
        if (_raw)
        {
            fixed (byte* saved = _saved)
            {
                _ = tcsetattr(0, TcsaNow, saved);
            }
        }

        if (Far >= 0)
        {
            _ = close(Far);
        }

        _ = close(Master);
    }

    private void CopyWindowSize()
    {
        var size = stackalloc ushort[4];
        if (ioctl(0, TiocGwinsz, size) == 0)
        {
            _ = ioctl(Master, TiocSwinsz, size);
        }
    }

    /// <summary>Copies from one descriptor to another; the command's side reads EIO once every holder of its end has gone.</summary>
    private static void Pump(int from, int to, bool untilError)
    {
        var buffer = stackalloc byte[4096];
        while (true)
        {
            var n = read(from, buffer, 4096);
            if (n < 0 && Errno == Eintr)
            {
                continue;
            }

            if (n <= 0)
            {
                return; // EIO (the far end closed) or the user's end of input
            }

            for (nint done = 0; done < n;)
            {
                var w = write(to, buffer + done, n - done);
                if (w < 0 && Errno == Eintr)
                {
                    continue;
                }

                if (w <= 0)
                {
                    return;
                }

                done += w;
            }
        }
    }
}
