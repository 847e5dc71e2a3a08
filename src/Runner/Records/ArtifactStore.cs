using System.Globalization;
using Ci.Isolation.Files;
using Ci.Runner.Engine;

namespace Ci.Runner.Records;

/// <summary>A file a job kept as an artifact; a symbolic link has its text (it was kept as a link, never followed).</summary>
public sealed record ArtifactFile(string Job, string Path, long Size, DateTimeOffset Expires, string? LinkTarget = null);

/// <summary>
/// Artifacts kept with their run: STATE/artifacts/RUN/JOB/ holds a job's files in the shape of a
/// layer (container paths, e.g. workspace/out/app.txt), so the jobs that need it stack it as it
/// is; STATE/artifacts/RUN/JOB.expires says until when (the job's artifacts.expire_in). Expired
/// ones are removed whenever the store is opened.
/// </summary>
public sealed class ArtifactStore
{
    private readonly string _root;

    private ArtifactStore(string root) => _root = root;

    public static ArtifactStore Open(string stateDirectory)
    {
        var store = new ArtifactStore(System.IO.Directory.CreateDirectory(new StateLayout(stateDirectory).Artifacts).FullName);
        store.RemoveExpired(DateTimeOffset.UtcNow);
        return store;
    }

    /// <summary>Where a job of a run puts its artifacts (created), kept until <paramref name="expires"/>.</summary>
    public string Directory(long runId, string job, DateTimeOffset expires)
    {
        var run = System.IO.Directory.CreateDirectory(Path.Combine(_root, runId.ToString(CultureInfo.InvariantCulture))).FullName;
        File.WriteAllText(Path.Combine(run, job + ".expires"), expires.ToString("O"));
        return System.IO.Directory.CreateDirectory(Path.Combine(run, job)).FullName;
    }

    /// <summary>The files of a run's artifacts, by job then path; paths are relative to /workspace when under it.</summary>
    public IReadOnlyList<ArtifactFile> List(long runId, string? job = null)
    {
        var run = Path.Combine(_root, runId.ToString(CultureInfo.InvariantCulture));
        if (!System.IO.Directory.Exists(run))
        {
            return [];
        }

        return System.IO.Directory.EnumerateDirectories(run)
            .Where(d => job is null || Path.GetFileName(d) == job)
            .OrderBy(d => d, StringComparer.Ordinal)
            .SelectMany(d =>
            {
                var expires = Expiry(d + ".expires") ?? DateTimeOffset.MaxValue;
                using var tree = RootedDirectory.Open(d);
                return tree.Walk()
                    .Where(e => e.Info.Kind is EntryKind.File or EntryKind.SymbolicLink)
                    .Select(e => new ArtifactFile(Path.GetFileName(d), Display(e.Path), e.Info.Size, expires,
                        e.Info.Kind == EntryKind.SymbolicLink ? tree.ReadLink(e.Path) : null))
                    .OrderBy(f => f.Path, StringComparer.Ordinal)
                    .ToList();
            })
            .ToList();
    }

    /// <summary>
    /// Copies one job's artifacts under <paramref name="target"/> (paths as <see cref="List"/> gives
    /// them); returns how many files. A container made them: links are written as links, and
    /// nothing is written through a link already in <paramref name="target"/>.
    /// </summary>
    public int Fetch(long runId, string job, string target)
    {
        using var source = RootedDirectory.Open(Path.Combine(_root, runId.ToString(CultureInfo.InvariantCulture), job));
        using var destination = RootedDirectory.Open(target, create: true);
        var count = 0;
        foreach (var (path, info) in source.Walk())
        {
            if (info.Kind is EntryKind.File or EntryKind.SymbolicLink && TreeCopy.CopyEntry(source, path, destination, Display(path)))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// One artifact file to read (a download), named as <see cref="List"/> names it; null when the
    /// run's job kept no such file. Only listed regular files are opened, through the job's
    /// directory as a root and without following links: a name cannot reach anything else.
    /// </summary>
    public (FileStream Stream, ArtifactFile File)? OpenRead(long runId, string job, string path)
    {
        if (List(runId, job).FirstOrDefault(f => f.Path == path && f.LinkTarget is null) is not { } file)
        {
            return null;
        }

        using var tree = RootedDirectory.Open(Path.Combine(_root, runId.ToString(CultureInfo.InvariantCulture), job));
        var stream = (tree.Stat("workspace/" + path) is { Kind: EntryKind.File } ? tree.OpenRead("workspace/" + path) : null) ?? tree.OpenRead(path);
        return stream is null ? null : (stream, file);
    }

    private void RemoveExpired(DateTimeOffset now)
    {
        foreach (var run in System.IO.Directory.EnumerateDirectories(_root))
        {
            foreach (var marker in System.IO.Directory.EnumerateFiles(run, "*.expires"))
            {
                if (Expiry(marker) is { } expires && expires < now)
                {
                    var dir = marker[..^".expires".Length];
                    if (System.IO.Directory.Exists(dir))
                    {
                        System.IO.Directory.Delete(dir, recursive: true);
                    }

                    File.Delete(marker);
                }
            }

            if (!System.IO.Directory.EnumerateFileSystemEntries(run).Any())
            {
                System.IO.Directory.Delete(run);
            }
        }
    }

    private static DateTimeOffset? Expiry(string marker) =>
        File.Exists(marker) && DateTimeOffset.TryParse(File.ReadAllText(marker), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;

    private static string Display(string layerPath) => layerPath.StartsWith("workspace/", StringComparison.Ordinal) ? layerPath["workspace/".Length..] : layerPath;
}
