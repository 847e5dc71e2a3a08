using System.Text.RegularExpressions;

namespace Ci.Isolation.Registry;

/// <summary>A parsed <c>WWW-Authenticate</c> header: <c>Bearer realm="…",service="…",scope="…"</c> or <c>Basic realm="…"</c>.</summary>
internal sealed partial record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    [GeneratedRegex("""(?<key>[A-Za-z]+)="(?<value>[^"]*)"|(?<key>[A-Za-z]+)=(?<value>[^,\s]+)""")]
    private static partial Regex Parameter();

    public static AuthChallenge? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        var space = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? header : header[..space];
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (Match m in Parameter().Matches(space < 0 ? "" : header[(space + 1)..]))
        {
            parameters[m.Groups["key"].Value] = m.Groups["value"].Value;
        }

        return new AuthChallenge(scheme, parameters);
    }

    public string? this[string key] => Parameters.GetValueOrDefault(key);
}
