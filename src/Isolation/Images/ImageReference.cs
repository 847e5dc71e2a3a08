using System.Text.RegularExpressions;

namespace Ci.Isolation.Images;

/// <summary>
/// An image name as users write it, normalised as Docker does: <c>alpine</c> is
/// <c>docker.io/library/alpine:latest</c>, <c>ghcr.io/o/r</c> is <c>ghcr.io/o/r:latest</c>;
/// <c>name@sha256:…</c> pins a digest.
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, Digest? PinnedDigest)
{
    public const string DefaultRegistry = "docker.io";

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex Component();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex TagPattern();

    public static bool TryParse(string text, out ImageReference? reference, out string error)
    {
        reference = null;
        error = "";
        var rest = text.Trim();
        if (rest.Length == 0 || rest.Length > 512)
        {
            error = "an image name must be 1 to 512 characters";
            return false;
        }

        Digest? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!Digest.TryParse(rest[(at + 1)..], out var d))
            {
                error = $"'{rest[(at + 1)..]}' is not a digest (sha256: and 64 hex digits)";
                return false;
            }

            digest = d;
            rest = rest[..at];
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                error = $"tag '{tag}' may hold letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')";
                return false;
            }
        }

        var parts = rest.Split('/').ToList();
        var registry = DefaultRegistry;
        if (parts.Count > 1 && (parts[0].Contains('.', StringComparison.Ordinal) || parts[0].Contains(':', StringComparison.Ordinal) || parts[0] == "localhost"))
        {
            registry = parts[0];
            parts.RemoveAt(0);
        }

        if (registry == DefaultRegistry && parts.Count == 1)
        {
            parts.Insert(0, "library");
        }

        foreach (var part in parts)
        {
            if (!Component().IsMatch(part))
            {
                error = $"'{part}' in '{text}' is not a valid name component (lower-case letters, digits, and '.', '_' or '-' between them)";
                return false;
            }
        }

        reference = new ImageReference(registry, string.Join('/', parts), tag ?? (digest is null ? "latest" : null), digest);
        return true;
    }

    public static ImageReference Parse(string text) =>
        TryParse(text, out var r, out var error) ? r! : throw new FormatException($"image '{text}': {error}");

    public override string ToString() =>
        $"{Registry}/{Repository}{(Tag is null ? "" : ":" + Tag)}{(PinnedDigest is { } d ? "@" + d : "")}";
}
