using System.Text;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Sources;
using Ci.Pipeline.Values;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

/// <summary>
/// Loads a pipeline file and the files it includes from a source tree, and merges them into one
/// document. Included files add jobs and env; keys that shape the whole pipeline stay in the root.
/// </summary>
public static class PipelineLoader
{
    public const string DefaultFile = ".runner.yml";
    private const int MaxIncludeFiles = 50;

    private static readonly string[] RootOnlyKeys = ["name", "image", "resources", "defaults", "on", "secrets"];

    public static PipelineDocument? Load(ISourceTree tree, string path, DiagnosticBag diagnostics, YamlLimits? limits = null)
    {
        var rootPath = RelativePath.Normalize(path) ?? path;
        var root = LoadOne(tree, rootPath, diagnostics, limits, new SourcePosition(rootPath, 1, 1), isRoot: true);
        if (root is null)
        {
            return null;
        }

        var jobs = new List<JobSpec>(root.Jobs);
        var env = new List<EnvEntry>();
        var visited = new HashSet<string>(StringComparer.Ordinal) { rootPath };
        var stack = new List<string> { rootPath };
        IncludeAll(tree, root, diagnostics, limits, visited, stack, jobs, env);
        env.AddRange(root.Env);
        return root with { Jobs = jobs, Env = env };
    }

    private static void IncludeAll(ISourceTree tree, PipelineDocument doc, DiagnosticBag diagnostics, YamlLimits? limits,
        HashSet<string> visited, List<string> stack, List<JobSpec> jobs, List<EnvEntry> env)
    {
        foreach (var include in doc.Includes)
        {
            var rel = RelativePath.Normalize(include.Value);
            if (rel is null)
            {
                diagnostics.Error(include.Position, DiagnosticCodes.IncludeInvalid,
                    $"include '{include.Value}' must be a path inside the repository, relative to its root");
                continue;
            }

            if (stack.Contains(rel))
            {
                diagnostics.Error(include.Position, DiagnosticCodes.IncludeCycle,
                    $"include cycle: {string.Join(" → ", stack.Append(rel))}");
                continue;
            }

            if (!visited.Add(rel))
            {
                continue;
            }

            if (visited.Count > MaxIncludeFiles)
            {
                diagnostics.Error(include.Position, DiagnosticCodes.IncludeInvalid, $"more than {MaxIncludeFiles} included files");
                return;
            }

            var child = LoadOne(tree, rel, diagnostics, limits, include.Position, isRoot: false);
            if (child is null)
            {
                continue;
            }

            stack.Add(rel);
            IncludeAll(tree, child, diagnostics, limits, visited, stack, jobs, env);
            stack.RemoveAt(stack.Count - 1);
            jobs.AddRange(child.Jobs);
            env.AddRange(child.Env);
        }
    }

    private static PipelineDocument? LoadOne(ISourceTree tree, string path, DiagnosticBag diagnostics, YamlLimits? limits,
        SourcePosition referencedFrom, bool isRoot)
    {
        limits ??= YamlLimits.Default;
        var size = tree.FileSize(path);
        if (size is null)
        {
            diagnostics.Error(referencedFrom, isRoot ? DiagnosticCodes.FileNotFound : DiagnosticCodes.IncludeInvalid,
                isRoot ? $"no pipeline file '{path}' in {tree.Description}" : $"included file '{path}' does not exist");
            return null;
        }

        if (size > limits.MaxFileBytes)
        {
            diagnostics.Error(new SourcePosition(path, 1, 1), DiagnosticCodes.FileTooLarge,
                $"the file is {Units.FormatBytes(size.Value)}; a pipeline file may be at most {Units.FormatBytes(limits.MaxFileBytes)}");
            return null;
        }

        byte[] bytes;
        using (var stream = tree.OpenRead(path))
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            bytes = copy.ToArray();
        }

        if (Decode(bytes, path, diagnostics) is not { } text)
        {
            return null;
        }

        var node = YamlLoader.Load(text, path, diagnostics, limits);
        if (node is null)
        {
            return null;
        }

        var doc = PipelineReader.Read(node, path, diagnostics);
        if (!isRoot && node is YamlMapping map)
        {
            foreach (var key in RootOnlyKeys)
            {
                if (map.Find(key) is { } entry)
                {
                    diagnostics.Error(entry.Key.Position, DiagnosticCodes.RootOnlyKey,
                        $"'{key}' may be set only in the root pipeline file, not in an included one");
                }
            }
        }

        return doc;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The file's text, which must be UTF-8 (a byte order mark is allowed): a byte that is not is
    /// reported where it is, rather than silently read as U+FFFD into a script or a secret's name.
    /// </summary>
    private static string? Decode(byte[] bytes, string path, DiagnosticBag diagnostics)
    {
        var body = bytes.AsSpan(bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0);
        try
        {
            return StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException ex)
        {
            // Everything before the bad byte decoded, so its line and column (in characters) can be counted.
            var at = Math.Clamp(ex.Index, 0, body.Length);
            var lineStart = body[..at].LastIndexOf((byte)'\n') + 1;
            var line = body[..at].Count((byte)'\n') + 1;
            var column = StrictUtf8.GetCharCount(body[lineStart..at]) + 1;
            diagnostics.Error(new SourcePosition(path, line, column), DiagnosticCodes.InvalidEncoding,
                $"byte 0x{body[at]:X2} is not valid UTF-8; a pipeline file must be UTF-8 text (re-save it as UTF-8)");
            return null;
        }
    }
}
