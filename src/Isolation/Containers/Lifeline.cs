using CliWrap;

namespace Ci.Isolation.Containers;

/// <summary>
/// The stdin of a runner-init: open while the runner lives (when the runner dies the kernel closes the pipe and runner-init
/// kills its containers), closed by <see cref="Dispose"/>. <see cref="Send"/> writes a launcher's request on the caller's
/// thread, one write(2) under a lock, not through a task that copies it later: a request is on every container's path.
/// </summary>
internal sealed class Lifeline : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<byte[]> _early = [];
    private Stream? _stdin;
    private bool _ended;

    /// <summary>For <see cref="Command.WithStandardInputPipe"/>: holds the process's stdin until disposed or the process has exited.</summary>
    public PipeSource Source => PipeSource.Create(async (stdin, cancellationToken) =>
    {
        lock (_lock)
        {
            _stdin = stdin;
            foreach (var message in _early)
            {
                Write(message);
            }

            _early.Clear();
        }

        // CliWrap cancels this once the process has exited; returning closes the pipe.
        await using (cancellationToken.Register(() => _closed.TrySetResult()))
        {
            await _closed.Task;
        }
    });

    /// <summary>Writes <paramref name="message"/> to the process's stdin (kept until it is open); false once ended or broken.</summary>
    public bool Send(byte[] message)
    {
        lock (_lock)
        {
            if (_ended)
            {
                return false;
            }

            if (_stdin is null)
            {
                _early.Add(message);
                return true;
            }

            return Write(message);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _ended = true;
        }

        _closed.TrySetResult();
    }

    private bool Write(byte[] message)
    {
        try
        {
            _stdin!.Write(message);
            _stdin.Flush();
            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            _ended = true; // the process has gone: its end answers what is waiting
            return false;
        }
    }
}
