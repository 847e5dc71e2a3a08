using System.Security.Cryptography;

namespace Ci.Isolation.Images;

/// <summary>A read-only pass-through that hashes every byte read, so a layer is verified while it is unpacked, in one pass.</summary>
internal sealed class HashingStream(Stream inner) : Files.ReadOnlyStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        _hash.AppendData(buffer[..n]);
        BytesRead += n;
        return n;
    }

    /// <summary>Reads what the consumer left (a tar's trailing zero blocks) and returns the digest of the whole stream.</summary>
    public Digest Finish()
    {
        Span<byte> rest = stackalloc byte[8192];
        while (Read(rest) > 0)
        {
        }

        return Digest.Of(_hash);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }
}
