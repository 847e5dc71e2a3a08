namespace Ci.Pipeline.Sources;

/// <summary>
/// The files of a repository at one revision, as the compiler sees them: the pipeline file, its
/// includes, and the files that cache keys hash. Paths are relative, '/'-separated, and never
/// leave the tree. The runner's implementation reads a directory through its one primitive for
/// trees from outside (RootedSourceTree): a link that leads out of the tree is absent.
/// </summary>
public interface ISourceTree
{
    /// <summary>What this tree is, for messages: a path or a commit.</summary>
    string Description { get; }

    /// <summary>The size of a regular file, or null when there is no such file in the tree.</summary>
    long? FileSize(string path);

    /// <summary>Opens a regular file. Callers check <see cref="FileSize"/> first.</summary>
    Stream OpenRead(string path);

    /// <summary>Every regular file of the tree, in ordinal order, for glob matching.</summary>
    IEnumerable<string> EnumerateFiles();
}
