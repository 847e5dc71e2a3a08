using System.Security.Cryptography;

namespace Ci.Isolation.Images;

/// <summary>Content-addressed blobs (compressed layers, configs) as registries serve them: b/sha256/HEX, written by rename.</summary>
public sealed class BlobStore
{
    public BlobStore(string stateDirectory)
    {
        Root = Path.Combine(stateDirectory, "b", "sha256");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string PathOf(Digest digest) => Path.Combine(Root, digest.Hex);

    public bool Has(Digest digest) => File.Exists(PathOf(digest));

    /// <summary>Copies a file in under its digest and returns the digest.</summary>
    public Digest Add(string file)
    {
        Digest digest;
        using (var stream = File.OpenRead(file))
        {
            digest = new Digest(Convert.ToHexStringLower(SHA256.HashData(stream)));
        }

        if (!Has(digest))
        {
            var temp = StoreDirectory.TemporaryName(PathOf(digest));
            try
            {
                File.Copy(file, temp);
                File.Move(temp, PathOf(digest), overwrite: true);
            }
            finally
            {
                File.Delete(temp); // a full disk leaves no half-copied blob
            }
        }

        return digest;
    }

    public Digest Add(byte[] content)
    {
        var digest = new Digest(Convert.ToHexStringLower(SHA256.HashData(content)));
        if (!Has(digest))
        {
            var temp = StoreDirectory.TemporaryName(PathOf(digest));
            try
            {
                File.WriteAllBytes(temp, content);
                File.Move(temp, PathOf(digest), overwrite: true);
            }
            finally
            {
                File.Delete(temp);
            }
        }

        return digest;
    }
}
