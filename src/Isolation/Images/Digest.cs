using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Ci.Isolation.Images;

/// <summary>A content digest, <c>sha256:</c> and 64 lower-case hex digits (the only algorithm the store uses).</summary>
public readonly partial record struct Digest(string Hex)
{
    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Pattern();

    public static Digest Parse(string text) =>
        TryParse(text, out var d) ? d : throw new FormatException($"'{text}' is not a sha256 digest (sha256: and 64 hex digits)");

    public static bool TryParse(string text, out Digest digest)
    {
        digest = default;
        if (!Pattern().IsMatch(text))
        {
            return false;
        }

        digest = new Digest(text[7..]);
        return true;
    }

    public static Digest Of(IncrementalHash finishedHash) => new(Convert.ToHexStringLower(finishedHash.GetHashAndReset()));

    /// <summary>The short, path-friendly form used for directory names (16 hex digits).</summary>
    public string Short => Hex[..16];

    public override string ToString() => "sha256:" + Hex;
}
