using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Values;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

/// <summary>
/// Turns the YAML tree of one pipeline file into a <see cref="PipelineDocument"/>, reporting every
/// wrong key, type and value. Includes are resolved by <see cref="PipelineLoader"/>.
/// </summary>
internal static partial class PipelineReader
{
    private static readonly Dictionary<string, TriggerEvent> Events = new()
    {
        ["push"] = TriggerEvent.Push,
        ["pull_request"] = TriggerEvent.PullRequest,
        ["tag"] = TriggerEvent.Tag,
        ["manual"] = TriggerEvent.Manual,
    };

    private static readonly Dictionary<string, NetworkMode> Networks = new()
    {
        ["host"] = NetworkMode.Host,
        ["none"] = NetworkMode.None,
        ["bridge"] = NetworkMode.Bridge,
    };

    internal static readonly ObjectSchema<PipelineDocument> PipelineSchema = new("the pipeline", new Dictionary<string, Action<ReadContext, YamlNode, PipelineDocument>>
    {
        ["name"] = (c, n, d) => d.Name = c.String(n, "name"),
        ["image"] = (c, n, d) => d.Image = c.String(n, "image"),
        ["env"] = (c, n, d) => d.Env = c.Env(n, "env"),
        ["resources"] = (c, n, d) => d.Resources = ReadResources(c, n),
        ["defaults"] = (c, n, d) => d.Defaults = ReadDefaults(c, n),
        ["on"] = (c, n, d) => d.On = ReadOn(c, n),
        ["secrets"] = (c, n, d) => d.Secrets = ReadSecrets(c, n),
        ["include"] = (c, n, d) => d.Includes = c.StringList(n, "include") ?? [],
        ["jobs"] = (c, n, d) => d.Jobs = ReadJobs(c, n),
    });

    internal static readonly ObjectSchema<DefaultsSpec> DefaultsSchema = new("defaults", new Dictionary<string, Action<ReadContext, YamlNode, DefaultsSpec>>
    {
        ["timeout"] = (c, n, d) => d.Timeout = ReadTimeout(c, n),
        ["retry"] = (c, n, d) => d.Retry = ReadRetry(c, n),
        ["allow_failure"] = (c, n, d) => d.AllowFailure = ReadAllowFailure(c, n),
        ["workdir"] = (c, n, d) => d.Workdir = c.String(n, "workdir"),
        ["user"] = (c, n, d) => d.User = c.String(n, "user"),
        ["shell"] = (c, n, d) => d.Shell = ReadShell(c, n),
        ["network"] = (c, n, d) => d.Network = c.Enum(n, "network", Networks),
    });

    internal static readonly ObjectSchema<Dictionary<string, IReadOnlyList<Text>?>> TriggerFilterSchema = new("a trigger", new Dictionary<string, Action<ReadContext, YamlNode, Dictionary<string, IReadOnlyList<Text>?>>>
    {
        ["branches"] = (c, n, d) => d["branches"] = ReadPatterns(c, n, "branches"),
        ["tags"] = (c, n, d) => d["tags"] = ReadPatterns(c, n, "tags"),
        ["paths"] = (c, n, d) => d["paths"] = ReadPatterns(c, n, "paths"),
    });

    internal static readonly ObjectSchema<Dictionary<string, YamlNode>> SecretSchema = new("a secret", new Dictionary<string, Action<ReadContext, YamlNode, Dictionary<string, YamlNode>>>
    {
        ["optional"] = (c, n, d) => d["optional"] = n,
        ["from_env"] = (c, n, d) => d["from_env"] = n,
        ["value"] = (c, n, d) => c.Error(n, DiagnosticCodes.SecretInRepository,
            "a secret's value must not be written in the repository; give it to the runner through its environment or --secrets-file"),
    });

    /// <summary>Every mapping schema of the language, for the reference and its test.</summary>
    internal static IReadOnlyList<IObjectSchema> Schemas =>
    [
        PipelineSchema, DefaultsSchema, TriggerFilterSchema, SecretSchema, JobSchema, StepSchema, ResourcesSchema, RetrySchema,
        AllowFailureSchema, WhenSchema, ServiceSchema, ReadinessSchema, CacheSchema, CacheKeySchema, ArtifactsSchema,
    ];

    public static PipelineDocument Read(YamlNode root, string file, DiagnosticBag diagnostics)
    {
        var ctx = new ReadContext(diagnostics);
        var doc = new PipelineDocument { File = file, Position = root.Position };
        if (root is YamlScalar { IsNull: true })
        {
            diagnostics.Error(root.Position, DiagnosticCodes.NoJobs, "the pipeline file is empty; it needs at least 'jobs:'");
            return doc;
        }

        if (ctx.Mapping(root, "a pipeline file") is { } map)
        {
            PipelineSchema.Read(ctx, map, doc);
        }

        return doc;
    }

    private static DefaultsSpec ReadDefaults(ReadContext c, YamlNode n)
    {
        var d = new DefaultsSpec();
        if (c.Mapping(n, "defaults") is { } map)
        {
            DefaultsSchema.Read(c, map, d);
        }

        return d;
    }

    private static Dictionary<TriggerEvent, BranchFilter>? ReadOn(ReadContext c, YamlNode n)
    {
        var result = new Dictionary<TriggerEvent, BranchFilter>();
        switch (n)
        {
            case YamlScalar or YamlSequence:
                foreach (var name in c.StringList(n, "on") ?? [])
                {
                    if (c.Enum(new YamlScalar(name.Position, name.Value, true), "an event", Events) is { } ev)
                    {
                        result[ev] = new BranchFilter(null, null, null);
                    }
                }

                break;
            case YamlMapping map:
                foreach (var (key, value) in map.Entries)
                {
                    if (c.Enum(key, "an event", Events) is not { } ev)
                    {
                        continue;
                    }

                    var filter = new Dictionary<string, IReadOnlyList<Text>?>();
                    if (value is YamlMapping fm)
                    {
                        TriggerFilterSchema.Read(c, fm, filter);
                    }
                    else if (value is not YamlScalar { IsNull: true })
                    {
                        c.WrongType(value, $"on.{key.Value}", "a mapping of branches, tags and paths, or empty");
                    }

                    result[ev] = new BranchFilter(filter.GetValueOrDefault("branches"), filter.GetValueOrDefault("tags"), filter.GetValueOrDefault("paths"));
                }

                break;
        }

        return result;
    }

    private static IReadOnlyList<SecretDecl> ReadSecrets(ReadContext c, YamlNode n)
    {
        var list = new List<SecretDecl>();
        IEnumerable<(YamlScalar Name, YamlNode? Options)> items = n switch
        {
            YamlSequence seq => seq.Items.Select(i => i switch
            {
                YamlScalar s => (s, (YamlNode?)null),
                YamlMapping { Entries.Count: 1 } m => (m.Entries[0].Key, m.Entries[0].Value),
                _ => (new YamlScalar(i.Position, "", true), i),
            }),
            YamlMapping map => map.Entries.Select(e => (e.Key, (YamlNode?)e.Value)),
            _ => [],
        };
        if (n is not (YamlSequence or YamlMapping))
        {
            c.WrongType(n, "secrets", "a list of names or a mapping of names to options");
        }

        foreach (var (name, options) in items)
        {
            if (!Names.IsEnvName(name.Value))
            {
                c.Error(options ?? name, DiagnosticCodes.InvalidName, $"'{name.Value}' is not a valid secret name (letters, digits and '_')");
                continue;
            }

            var opts = new Dictionary<string, YamlNode>();
            if (options is YamlMapping om)
            {
                SecretSchema.Read(c, om, opts);
            }
            else if (options is YamlScalar { IsNull: false } literal)
            {
                c.Error(literal, DiagnosticCodes.SecretInRepository,
                    $"secret '{name.Value}' has a value in the repository; declare only its name and give the value to the runner");
                continue;
            }

            var optional = opts.TryGetValue("optional", out var o) && c.Bool(o, "optional") == true;
            var fromEnv = opts.TryGetValue("from_env", out var fe) ? c.String(fe, "from_env") : null;
            list.Add(new SecretDecl(new Text(name.Value, name.Position), optional, fromEnv));
        }

        return list;
    }

    private static IReadOnlyList<Text>? ReadPatterns(ReadContext c, YamlNode n, string what)
    {
        var list = c.StringList(n, what);
        foreach (var p in list ?? [])
        {
            if (Glob.Validate(p.Value) is { } error)
            {
                c.Diagnostics.Error(p.Position, DiagnosticCodes.InvalidPattern, $"{what}: {error}");
            }
        }

        return list;
    }
}
