using System.Security.Cryptography;
using System.Text;
using Ci.Runner.Server.Config;

namespace Ci.Runner.Server.Hooks;

/// <summary>
/// Checks that a hook comes from the forge that holds the repository's secret, on the raw body
/// as received, in constant time. Returns null when it does, the reason when it does not.
/// GitHub: <c>X-Hub-Signature-256: sha256=HEX</c>, HMAC-SHA256 of the body. Gitea and Forgejo:
/// <c>X-Gitea-Signature</c> / <c>X-Forgejo-Signature: HEX</c>, the same HMAC. GitLab: the secret
/// itself in <c>X-Gitlab-Token</c>; or, for a secret given as a <c>whsec_</c> signing key, the
/// Standard Webhooks signature (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature:
/// v1,BASE64</c> of "id.timestamp.body"), refused when its timestamp is more than five minutes off.
/// </summary>
public static class HookSignatures
{
    public static readonly TimeSpan TimestampTolerance = TimeSpan.FromMinutes(5);

    public static string? Verify(ForgeKind forge, Func<string, string?> header, ReadOnlySpan<byte> body, string secret, DateTimeOffset now) => forge switch
    {
        ForgeKind.GitHub => VerifyHex(header("X-Hub-Signature-256"), "sha256=", "X-Hub-Signature-256", body, secret),
        ForgeKind.Gitea => VerifyHex(header("X-Gitea-Signature") ?? header("X-Forgejo-Signature"), "", "X-Gitea-Signature", body, secret),
        _ => secret.StartsWith("whsec_", StringComparison.Ordinal)
            ? VerifyStandard(header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"), body, secret, now)
            : VerifyToken(header("X-Gitlab-Token"), secret),
    };

    public static string HexSignature(ReadOnlySpan<byte> body, string secret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static string? VerifyHex(string? given, string prefix, string name, ReadOnlySpan<byte> body, string secret)
    {
        if (given is null)
        {
            return $"no {name} header: the hook is not signed (set the webhook's secret in the forge)";
        }

        if (!given.StartsWith(prefix, StringComparison.Ordinal) || given.Length != prefix.Length + 64)
        {
            return $"{name} is not {prefix}<64 hex digits>";
        }

        byte[] claimed;
        try
        {
            claimed = Convert.FromHexString(given.AsSpan(prefix.Length));
        }
        catch (FormatException)
        {
            return $"{name} is not {prefix}<64 hex digits>";
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body);
        return CryptographicOperations.FixedTimeEquals(claimed, expected) ? null : $"{name} does not match the body signed with the repository's secret";
    }

    private static string? VerifyToken(string? given, string secret)
    {
        if (given is null)
        {
            return "no X-Gitlab-Token header: set the webhook's secret token in GitLab";
        }

        // Hashes first: equal lengths, so the comparison's time does not tell the secret's length.
        var a = SHA256.HashData(Encoding.UTF8.GetBytes(given));
        var b = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return CryptographicOperations.FixedTimeEquals(a, b) ? null : "X-Gitlab-Token is not the repository's secret token";
    }

    private static string? VerifyStandard(string? id, string? timestamp, string? signatures, ReadOnlySpan<byte> body, string secret, DateTimeOffset now)
    {
        if (id is null || timestamp is null || signatures is null)
        {
            return "no webhook-id, webhook-timestamp and webhook-signature headers: the repository's secret is a signing key (whsec_), so the hook must be signed";
        }

        if (!long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || (now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253402300799))).Duration() > TimestampTolerance)
        {
            return "webhook-timestamp is not within five minutes of the server's clock (a replayed or delayed delivery)";
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(secret["whsec_".Length..]);
        }
        catch (FormatException)
        {
            return "the repository's signing key is not whsec_<base64>";
        }

        var signed = new byte[Encoding.UTF8.GetByteCount(id) + Encoding.UTF8.GetByteCount(timestamp) + 2 + body.Length];
        var at = Encoding.UTF8.GetBytes(id, signed);
        signed[at++] = (byte)'.';
        at += Encoding.UTF8.GetBytes(timestamp, signed.AsSpan(at));
        signed[at++] = (byte)'.';
        body.CopyTo(signed.AsSpan(at));
        var expected = HMACSHA256.HashData(key, signed);
        foreach (var candidate in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (candidate.StartsWith("v1,", StringComparison.Ordinal) && TryBase64(candidate[3..]) is { } claimed
                && CryptographicOperations.FixedTimeEquals(claimed, expected))
            {
                return null;
            }
        }

        return "webhook-signature does not match the body signed with the repository's signing key";
    }

    private static byte[]? TryBase64(string text)
    {
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }
}
