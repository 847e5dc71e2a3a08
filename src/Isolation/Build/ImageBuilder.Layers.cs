using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;

namespace Ci.Isolation.Build;

public sealed partial class ImageBuilder
{
    private static readonly HashSet<string> MountPoints = ["proc", "dev", "sys"];

    private async Task<bool> RunAsync(State state, Instruction ins, string at, BuildOptions options, Action starting, Action<OutputLine>? output,
        CancellationToken cancellationToken)
    {
        var env = state.Config.Env.Concat(state.Args.Select(a => $"{a.Key}={a.Value}")).ToList();
        var command = ins.ExecForm ?? ["/bin/sh", "-c", ins.Text];
        state.Key = Hash(state.Key, "RUN", string.Join("\0", command), string.Join("\0", env), state.Config.WorkingDir ?? "/", state.Config.User ?? "");
        if (!options.NoCache && CachedLayer(state.Key) is { } hit)
        {
            Append(state, hit);
            return true;
        }

        starting();
        var upper = store.Layers.NewScratchDirectory();
        try
        {
            var workdir = state.Config.WorkingDir ?? "/";
            Directory.CreateDirectory(Path.Combine(upper, workdir.TrimStart('/'))); // WORKDIR exists for the command, as in Docker
            var (uid, gid) = User(state.Config.User, at);
            var result = await runtime.RunAsync(new ContainerSpec
            {
                // As a step does: orphans reaped, SIGTERM not ignored by a PID 1 shell.
                Init = true,
                Layers = store.LayerPaths(state.Layers, at),
                Command = command,
                Env = ImageConfig.EnvironmentOf(env),
                WorkingDirectory = workdir,
                Uid = uid,
                Gid = gid,
                UpperDirectory = upper,
                Network = ContainerNetwork.Host,
                Limits = new ContainerLimits(Pids: 4096),
            }, output, cancellationToken);
            if (!result.Succeeded)
            {
                throw new IsolationException($"{at}: RUN {ins.Text} failed: {(result.OomKilled ? "killed: out of memory" : result.ExitCode is { } c ? $"exit code {c}" : $"signal {result.Signal}")}");
            }

            // Mount points runner-init made for /proc, /dev and /sys are not part of the result.
            foreach (var mountPoint in MountPoints)
            {
                var dir = Path.Combine(upper, mountPoint);
                if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
                {
                    Directory.Delete(dir);
                }
            }

            Append(state, Commit(state.Key, upper));
            return false;
        }
        finally
        {
            if (Directory.Exists(upper))
            {
                Directory.Delete(upper, recursive: true);
            }
        }
    }

    private bool Copy(State state, Instruction ins, string at, BuildOptions options)
    {
        var words = ins.ExecForm?.ToList() ?? ins.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (words.Any(w => w.StartsWith("--", StringComparison.Ordinal)))
        {
            throw new IsolationException($"{at}: {ins.Keyword} options ({string.Join(" ", words.Where(w => w.StartsWith("--", StringComparison.Ordinal)))}) are not supported yet");
        }

        if (words.Count < 2)
        {
            throw new IsolationException($"{at}: {ins.Keyword} needs a source and a destination");
        }

        var destination = Absolute(Expand(words[^1], state), state.Config.WorkingDir);
        var sources = words[..^1].Select(s => Expand(s, state)).Select(s => Source(options.Context, s, at)).ToList();
        var intoDirectory = words[^1].EndsWith('/') || sources.Count > 1 || sources.Any(Directory.Exists);
        state.Key = Hash(state.Key, ins.Keyword, destination, intoDirectory ? "dir" : "file", string.Join("\0", sources.Select(s => ContentHash(options.Context, s))));
        if (!options.NoCache && CachedLayer(state.Key) is { } hit)
        {
            Append(state, hit);
            return true;
        }

        var layer = store.Layers.NewScratchDirectory();
        try
        {
            foreach (var source in sources)
            {
                var target = Path.Combine(layer, destination.TrimStart('/'));
                if (Directory.Exists(source))
                {
                    CopyTree(source, target);
                }
                else
                {
                    var file = intoDirectory ? Path.Combine(target, Path.GetFileName(source)) : target;
                    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                    File.Copy(source, file, overwrite: true);
                }
            }

            Append(state, Commit(state.Key, layer));
            return false;
        }
        finally
        {
            if (Directory.Exists(layer))
            {
                Directory.Delete(layer, recursive: true);
            }
        }
    }

    /// <summary>Tars the layer directory into the blob store (its digest is the DiffID), moves the directory into the layer store, and records the cache key.</summary>
    private BlobRef Commit(string key, string directory)
    {
        var tar = directory + ".tar";
        using (var file = File.Create(tar))
        {
            LayerWriter.Write(directory, file);
        }

        var digest = store.Blobs.Add(tar);
        var size = new FileInfo(tar).Length;
        File.Delete(tar);
        store.Layers.Adopt(directory, digest);
        var blob = new BlobRef(digest.ToString(), OciConfig.LayerTar, size);
        File.WriteAllText(Path.Combine(_cache, key), new JsonObject { ["digest"] = blob.Digest, ["size"] = blob.Size }.ToJsonString());
        return blob;
    }

    private BlobRef? CachedLayer(string key)
    {
        var file = Path.Combine(_cache, key);
        if (!File.Exists(file))
        {
            return null;
        }

        var json = JsonNode.Parse(File.ReadAllText(file))!;
        var digest = Digest.Parse((string)json["digest"]!);
        // A cache entry whose layer was pruned is a miss, not an error.
        return store.Layers.Find(digest) is null ? null : new BlobRef(digest.ToString(), OciConfig.LayerTar, (long)json["size"]!);
    }

    private static void Append(State state, BlobRef blob)
    {
        state.Layers.Add(blob.Digest);
        state.Blobs?.Add(blob);
    }

    private static (uint Uid, uint Gid) User(string? user, string at) =>
        UserIds.TryParse(user, out var uid, out var gid) ? (uid, gid) : throw new IsolationException($"{at}: USER '{user}' must be {UserIds.Expected}");

    private static string Source(string context, string source, string at)
    {
        if (LayerExtractor.Normalize(source) is not { } rel)
        {
            throw new IsolationException($"{at}: '{source}' is outside the build context");
        }

        var full = rel.Length == 0 ? Path.GetFullPath(context) : Path.Combine(Path.GetFullPath(context), rel);
        return Path.Exists(full) ? full : throw new IsolationException($"{at}: '{source}' does not exist in the build context {context}");
    }

    /// <summary>Paths, modes and contents (not mtimes) of what a COPY takes, as BuildKit's content hash does.</summary>
    private static string ContentHash(string context, string source)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.Exists(source)
            ? Directory.EnumerateFileSystemEntries(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Prepend(source)
            : [source];
        foreach (var path in files)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(context, path) + "\0" + (int)File.GetUnixFileMode(path) + "\0"));
            if (File.Exists(path))
            {
                using var stream = File.OpenRead(path);
                sha.AppendData(SHA256.HashData(stream));
            }
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)), overwrite: true);
        }
    }
}
