using System.Security.Cryptography;
using System.Text;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Sources;
using Ci.Pipeline.Values;

namespace Ci.Pipeline.Compilation;

/// <summary>
/// Matches key-file patterns against a source tree and hashes file contents, once per file per
/// compilation. Contents, not modification times, decide a key (as in BuildKit).
/// </summary>
internal sealed class SourceHasher(ISourceTree tree)
{
    private readonly Dictionary<string, string> _digests = new(StringComparer.Ordinal);
    private IReadOnlyList<string>? _files;

    public IReadOnlyList<string> Match(IReadOnlyList<Text> patterns, DiagnosticBag diagnostics)
    {
        _files ??= tree.EnumerateFiles().ToList();
        var matched = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pattern in patterns)
        {
            if (pattern.Value.StartsWith('!'))
            {
                continue;
            }

            var regex = Glob.ToRegex(pattern.Value.TrimStart('/'));
            var hits = _files.Where(f => regex.IsMatch(f)).ToList();
            if (hits.Count == 0)
            {
                diagnostics.Warning(pattern.Position, DiagnosticCodes.PatternMatchesNothing,
                    $"'{pattern.Value}' matches no file in {tree.Description}; the key will not change when such a file appears");
            }

            matched.UnionWith(hits);
        }

        var excludes = patterns.Where(p => p.Value.StartsWith('!')).Select(p => p.Value).ToList();
        return excludes.Count == 0
            ? [.. matched]
            : [.. matched.Where(f => Glob.MatchesList(["**", .. excludes], f))];
    }

    public string FileDigest(string path)
    {
        if (!_digests.TryGetValue(path, out var digest))
        {
            using var stream = tree.OpenRead(path);
            digest = Convert.ToHexStringLower(SHA256.HashData(stream));
            _digests[path] = digest;
        }

        return digest;
    }

    public static string Digest(IEnumerable<string> parts)
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
