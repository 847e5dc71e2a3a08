using System.Text;
using System.Text.Json;

namespace Ci.Pipeline.Secrets;

/// <summary>
/// Replaces secret values in text with <c>***</c>, in the forms a script is likely to print
/// them: as is, base64 (at every byte alignment, so a secret inside a longer encoded string is
/// found too), URL-encoded and JSON-escaped. Both log channels, the job log and the diagnostic
/// log, pass through one instance. Thread-safe.
/// </summary>
public sealed class SecretMasker
{
    public const string Mask = "***";

    /// <summary>Shorter values are not masked: masking "a" or "on" would shred every log line.</summary>
    public const int MinLength = 4;

    private readonly Lock _lock = new();
    private string[] _patterns = [];

    public void Add(string secret)
    {
        var forms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in secret.Split('\n').Select(l => l.TrimEnd('\r')).Append(secret))
        {
            if (value.Length < MinLength)
            {
                continue;
            }

            forms.Add(value);
            forms.Add(Uri.EscapeDataString(value));
            forms.Add(JsonEncodedText.Encode(value).ToString());
            foreach (var b64 in Base64Forms(Encoding.UTF8.GetBytes(value)))
            {
                forms.Add(b64);
            }
        }

        lock (_lock)
        {
            // Longest first, so a value is masked whole before any shorter form of it matches a part.
            _patterns = [.. _patterns.Union(forms.Where(f => f.Length >= MinLength)).OrderByDescending(p => p.Length)];
        }
    }

    public string Apply(string text)
    {
        var patterns = _patterns;
        if (patterns.Length == 0 || text.Length == 0)
        {
            return text;
        }

        foreach (var p in patterns)
        {
            if (text.Contains(p, StringComparison.Ordinal))
            {
                text = text.Replace(p, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>
    /// The base64 text that encodes the secret wherever it sits in a longer byte string: for each
    /// of the three alignments, the characters that depend only on the secret's bytes.
    /// </summary>
    private static IEnumerable<string> Base64Forms(byte[] bytes)
    {
        for (var shift = 0; shift < 3; shift++)
        {
            var padded = new byte[shift + bytes.Length];
            bytes.CopyTo(padded, shift);
            var encoded = Convert.ToBase64String(padded).TrimEnd('=');
            // Skip the characters that mix pad bytes in (4 chars per 3 bytes), and the last, partial one.
            var skip = shift == 0 ? 0 : shift + 1;
            var fullChars = (padded.Length * 8) / 6;
            var end = Math.Min(encoded.Length, fullChars);
            if (end - skip >= MinLength)
            {
                yield return encoded[skip..end];
            }
        }

        yield return Convert.ToBase64String(bytes);
    }
}
