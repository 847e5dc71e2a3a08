namespace Ci.Isolation.Images;

/// <summary>A read-only stream that gives <paramref name="prefix"/> (bytes already read from <paramref name="rest"/> to look at them) and then the rest.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream rest) : Files.ReadOnlyStream
{
    private int _given;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_given < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _given);
            prefix.AsSpan(_given, n).CopyTo(buffer);
            _given += n;
            return n;
        }

        return rest.Read(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            rest.Dispose();
        }

        base.Dispose(disposing);
    }
}
