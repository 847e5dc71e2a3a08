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

    public static readonly Option<bool> Worktree = new("--worktree")
    {
        Description = "Use the working tree as it is (uncommitted changes, and untracked files that are not ignored) instead of the committed tree",
    };

    public static void AddTo(Command command)
    {
        command.Options.Add(File);
        command.Options.Add(Directory);
        command.Options.Add(Worktree);
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

    /// <summary>
    /// Why the pipeline file cannot be read, when it is there but not a regular file (a fifo would
    /// block the reader forever, a device could be anything); null otherwise, absent included.
    /// </summary>
    public static string? NotARegularFile(string root, string file)
    {
        if (!System.IO.Directory.Exists(root))
        {
            return null;
        }

        using var tree = Ci.Isolation.Files.RootedDirectory.Open(root);
        return tree.Stat(file)?.Kind switch
        {
            null or Ci.Isolation.Files.EntryKind.File or Ci.Isolation.Files.EntryKind.SymbolicLink => null,
            var kind => $"runner: '{file}' is a {Describe(kind.Value)}, not a regular file; a pipeline is read from a file",
        };
    }

    private static string Describe(Ci.Isolation.Files.EntryKind kind) => kind switch
    {
        Ci.Isolation.Files.EntryKind.Fifo => "fifo",
        Ci.Isolation.Files.EntryKind.Directory => "directory",
        Ci.Isolation.Files.EntryKind.Socket => "socket",
        _ => "device",
    };
}
