namespace Ci.Pipeline.Sources;

public static class RelativePath
{
    /// <summary>
    /// Normalises a path relative to a tree root ("./a//b/" → "a/b"), or returns null when it is
    /// absolute or climbs out of the root with "..".
    /// </summary>
    public static string? Normalize(string path)
    {
        if (path.Length == 0 || path.StartsWith('/') || path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            switch (part)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (parts.Count == 0)
                    {
                        return null;
                    }

                    parts.RemoveAt(parts.Count - 1);
                    break;
                default:
                    parts.Add(part);
                    break;
            }
        }

        return parts.Count == 0 ? null : string.Join('/', parts);
    }
}
