using System.Text;

namespace Slugs;

public static class Slug
{
    /// <summary>"Hello, World!" → "hello-world".</summary>
    public static string From(string text)
    {
        var sb = new StringBuilder(text.Length);
        var dash = false;
        foreach (var ch in text.Normalize(NormalizationForm.FormKD))
        {
            if (char.IsAsciiLetterOrDigit(ch))
            {
                sb.Append(char.ToLowerInvariant(ch));
                dash = false;
            }
            else if (!dash && sb.Length > 0 && char.IsWhiteSpace(ch) || ch is '-' or '_' or ',' or '.')
            {
                if (!dash && sb.Length > 0)
                {
                    sb.Append('-');
                    dash = true;
                }
            }
        }

        return sb.ToString().TrimEnd('-');
    }
}
