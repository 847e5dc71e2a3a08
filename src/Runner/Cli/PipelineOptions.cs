using System.CommandLine;
using Ci.Pipeline.Parsing;

namespace Ci.Runner.Cli;

/// <summary>Options that locate a pipeline: which repository directory, which file in it.</summary>
internal static class PipelineOptions
{
    public static readonly Option<string> File = new("--file", "-f")
    {
        Description = $"Pipeline file, relative to the repository root (default: {PipelineLoader.DefaultFile})",
        DefaultValueFactory = _ => PipelineLoader.DefaultFile,
    };

    public static readonly Option<DirectoryInfo> Directory = new("--directory", "-C")
    {
        Description = "Repository root (default: the current directory, or the directory of --file when it is outside it)",
    };

    public static void AddTo(Command command)
    {
        command.Options.Add(File);
        command.Options.Add(Directory);
    }

    /// <summary>
    /// The repository root and the file's path inside it: -C, else the current directory. A file
    /// given outside that root makes its own directory the root.
    /// </summary>
    public static (string Root, string RelativeFile) Resolve(ParseResult result)
    {
        var file = result.GetValue(File) ?? PipelineLoader.DefaultFile;
        var root = result.GetValue(Directory)?.FullName ?? System.IO.Directory.GetCurrentDirectory();
        var full = Path.GetFullPath(Path.Combine(root, file));
        if (!full.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            root = Path.GetDirectoryName(full)!;
        }

        return (root, Path.GetRelativePath(root, full));
    }
}
