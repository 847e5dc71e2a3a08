using System.Threading.Channels;

namespace Ci.Isolation.Containers;

/// <summary>
/// The stdin of a runner-init: it yields only what <see cref="Send"/> gives it (a launcher's requests) and ends only when
/// disposed, so the pipe stays open while the runner lives. When the runner dies, the kernel closes the pipe and runner-init
/// kills its containers.
/// </summary>
internal sealed class LifelineStream : Files.ReadOnlyStream
{
    private readonly Channel<byte[]> _messages = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private ReadOnlyMemory<byte> _rest;

    /// <summary>Queues bytes for the reader (the process's stdin); false once disposed.</summary>
    public bool Send(byte[] message) => _messages.Writer.TryWrite(message);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_rest.IsEmpty)
        {
            if (!await _messages.Reader.WaitToReadAsync(cancellationToken))
            {
                return 0;
            }

            if (_messages.Reader.TryRead(out var message))
            {
                _rest = message;
            }
        }

        var n = Math.Min(buffer.Length, _rest.Length);
        _rest.Span[..n].CopyTo(buffer.Span);
        _rest = _rest[n..];
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        _messages.Writer.TryComplete();
        base.Dispose(disposing);
    }
}
