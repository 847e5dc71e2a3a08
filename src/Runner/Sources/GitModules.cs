using LibGit2Sharp;

namespace Ci.Runner.Sources;

/// <summary>The .gitmodules of a superproject: where each submodule's repository is.</summary>
public static class GitModules
{
    /// <summary>The URL of <paramref name="submodule"/>, from its parent's .gitmodules; relative URLs are resolved against the parent's URL.</summary>
    public static string UrlOf(Checkout.Submodule submodule, string topUrl)
    {
        var parentUrl = submodule.ParentUrl ?? topUrl;
        var text = (submodule.ParentTree[".gitmodules"]?.Target as Blob)?.GetContentText()
            ?? throw new InvalidOperationException($"submodule '{submodule.WorkspacePath}': its repository has no .gitmodules to say where it comes from");
        var url = Parse(text).GetValueOrDefault(submodule.PathInParent)
            ?? throw new InvalidOperationException($"submodule '{submodule.WorkspacePath}': .gitmodules names no url for path '{submodule.PathInParent}'");
        return Resolve(parentUrl, url);
    }

    /// <summary>path → url of every [submodule "…"] section.</summary>
    public static IReadOnlyDictionary<string, string> Parse(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? path = null, url = null;
        void Flush()
        {
            if (path is not null && url is not null)
            {
                result[path] = url;
            }

            path = url = null;
        }

        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                Flush();
            }
            else if (line.Split('=', 2) is [var key, var value])
            {
                switch (key.Trim())
                {
                    case "path":
                        path = value.Trim();
                        break;
                    case "url":
                        url = value.Trim();
                        break;
                }
            }
        }

        Flush();
        return result;
    }

    /// <summary>git's rule: "./x" and "../x" are relative to the superproject's URL, taken as a directory.</summary>
    public static string Resolve(string parentUrl, string url)
    {
        if (!url.StartsWith("./", StringComparison.Ordinal) && !url.StartsWith("../", StringComparison.Ordinal))
        {
            return url;
        }

        var baseParts = parentUrl.TrimEnd('/').Split('/').ToList();
        foreach (var part in url.Split('/'))
        {
            if (part == "..")
            {
                baseParts.RemoveAt(baseParts.Count - 1);
            }
            else if (part is not ("." or ""))
            {
                baseParts.Add(part);
            }
        }

        return string.Join('/', baseParts);
    }
}
