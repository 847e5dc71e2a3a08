using System.Security.Cryptography;
using System.Text;

namespace Ci.Isolation.Images;

/// <summary>Cache keys: SHA-256 over length-prefixed parts, so ("ab", "c") and ("a", "bc") never collide.</summary>
public static class CacheKey
{
    public static string Of(params string[] parts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts)
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            sha.AppendData(BitConverter.GetBytes(bytes.Length));
            sha.AppendData(bytes);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
