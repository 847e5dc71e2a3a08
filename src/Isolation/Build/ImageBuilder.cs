using System.Text.RegularExpressions;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;

namespace Ci.Isolation.Build;

/// <summary>
/// Builds an image from a Containerfile with our own runtime: each RUN runs in a fresh container
/// on the layers so far and its upper directory becomes the next layer; COPY and ADD build their
/// layer directly from the context. Every layer has a cache key, BuildKit-style: the parent's
/// key, the instruction as expanded, and for COPY/ADD the content (not the mtimes) of what is
/// copied; a known key reuses its layer without running anything.
/// </summary>
public sealed partial class ImageBuilder(ContainerRuntime runtime, ImageStore store, Func<ImageReference, Task<Image>> resolveBase, string stateDirectory)
{
    private readonly string _cache = Directory.CreateDirectory(Path.Combine(stateDirectory, "build-cache")).FullName;

    private sealed class State
    {
        public List<string> Layers { get; } = []; // DiffIDs, base first

        public List<BlobRef>? Blobs { get; set; } = [];

        public ImageConfig Config { get; set; } = ImageConfig.Default;

        public Dictionary<string, string> Args { get; } = new(StringComparer.Ordinal);

        public string Key { get; set; } = "";
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?<name>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Variable();

    public async Task<Image> BuildAsync(BuildOptions options, Action<BuildStep>? progress = null, Action<OutputLine>? output = null,
        CancellationToken cancellationToken = default)
    {
        var file = Path.GetFileName(options.Containerfile);
        var instructions = Containerfile.Parse(await File.ReadAllTextAsync(options.Containerfile, cancellationToken), file);
        var state = new State();
        for (var i = 0; i < instructions.Count; i++)
        {
            var ins = instructions[i];
            var at = $"{file}({ins.Line})";
            // A step's header comes before its output: a RUN that misses the cache says so as it starts, the rest when they end.
            var announced = false;
            void Announce(bool cached)
            {
                if (!announced)
                {
                    announced = true;
                    progress?.Invoke(new BuildStep(i + 1, instructions.Count, $"{ins.Keyword} {ins.Text}", cached));
                }
            }

            var cached = ins.Keyword switch
            {
                "FROM" => await FromAsync(state, Expand(ins.Text, state), at),
                "ARG" => Arg(state, ins, options),
                "ENV" => Metadata(state, ins, () => state.Config = state.Config with { Env = [.. MergeEnv(state.Config.Env, ParsePairs(Expand(ins.Text, state), at))] }),
                "WORKDIR" => Metadata(state, ins, () => state.Config = state.Config with { WorkingDir = Absolute(Expand(ins.Text, state), state.Config.WorkingDir) }),
                "USER" => Metadata(state, ins, () => state.Config = state.Config with { User = Expand(ins.Text, state) }),
                "CMD" => Metadata(state, ins, () => state.Config = state.Config with { Cmd = ins.ExecForm ?? ["/bin/sh", "-c", ins.Text] }),
                "ENTRYPOINT" => Metadata(state, ins, () => state.Config = state.Config with { Entrypoint = ins.ExecForm ?? ["/bin/sh", "-c", ins.Text] }),
                "LABEL" => Metadata(state, ins, () => { }),
                "RUN" => await RunAsync(state, ins, at, options, () => Announce(false), output, cancellationToken),
                "COPY" or "ADD" => Copy(state, ins, at, options),
                _ => throw new IsolationException($"{at}: {ins.Keyword} is not supported"),
            };
            Announce(cached);
        }

        var diffIds = state.Layers.Select(Digest.Parse).ToList();
        var config = OciConfig.Write(state.Config, diffIds);
        var configDigest = store.Blobs.Add(config);
        var image = new Image(options.Tag.ToString(), state.Layers, state.Config, DateTimeOffset.UtcNow)
        {
            ConfigBlob = new BlobRef(configDigest.ToString(), OciConfig.MediaType, config.Length),
            LayerBlobs = state.Blobs,
        };
        store.Save(image);
        return image;
    }

    private async Task<bool> FromAsync(State state, string name, string at)
    {
        if (name == "scratch")
        {
            state.Key = Hash("FROM scratch");
            return true;
        }

        if (!ImageReference.TryParse(name, out var reference, out var error))
        {
            throw new IsolationException($"{at}: FROM {name}: {error}");
        }

        var image = store.Find(reference!) ?? await resolveBase(reference!);
        state.Layers.AddRange(image.Layers);
        state.Blobs = image.LayerBlobs?.ToList();
        state.Config = image.Config;
        // The base's identity is its layers and config, not its name: a moved tag gives a new key.
        state.Key = Hash("FROM", string.Join(",", image.Layers), image.Config.Fingerprint());
        return true;
    }

    private static bool Arg(State state, Instruction ins, BuildOptions options)
    {
        var eq = ins.Text.IndexOf('=', StringComparison.Ordinal);
        var name = eq < 0 ? ins.Text : ins.Text[..eq];
        state.Args[name] = options.BuildArgs.TryGetValue(name, out var given) ? given : eq < 0 ? "" : ins.Text[(eq + 1)..].Trim('"');
        state.Key = Hash(state.Key, "ARG", name, state.Args[name]);
        return true;
    }

    private static bool Metadata(State state, Instruction ins, Action apply)
    {
        apply();
        state.Key = Hash(state.Key, ins.Keyword, ins.Text, state.Config.Fingerprint());
        return true;
    }

    private static string Hash(params string[] parts) => CacheKey.Of(parts);

    private static string Expand(string text, State state)
    {
        var env = state.Config.Environment();
        return Variable().Replace(text, m =>
        {
            var name = m.Groups["name"].Value;
            return env.TryGetValue(name, out var v) ? v : state.Args.GetValueOrDefault(name, "");
        });
    }

    private static IEnumerable<(string Name, string Value)> ParsePairs(string text, string at)
    {
        if (!text.Contains('=', StringComparison.Ordinal))
        {
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            return space > 0 ? [(text[..space], text[(space + 1)..].Trim())] : throw new IsolationException($"{at}: ENV needs NAME=VALUE");
        }

        return text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(pair =>
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            return eq > 0 ? (pair[..eq], pair[(eq + 1)..].Trim('"')) : throw new IsolationException($"{at}: '{pair}' is not NAME=VALUE");
        });
    }

    private static IEnumerable<string> MergeEnv(IEnumerable<string> env, IEnumerable<(string Name, string Value)> changes)
    {
        var merged = env.Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        foreach (var (name, value) in changes)
        {
            merged[name] = value;
        }

        return merged.Select(kv => $"{kv.Key}={kv.Value}");
    }

    private static string Absolute(string path, string? current) =>
        path.StartsWith('/') ? path : $"{(current ?? "/").TrimEnd('/')}/{path}";
}
