using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

internal static partial class PipelineReader
{
    private const long MiB = 1024 * 1024;
    private const long TiB = 1024L * 1024 * 1024 * 1024;

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(7);

    internal static readonly ObjectSchema<ResourcesSpec> ResourcesSchema = new("resources", new Dictionary<string, Action<ReadContext, YamlNode, ResourcesSpec>>
    {
        ["cpus"] = (c, n, r) => r.MilliCpus = ReadCpus(c, n),
        ["memory"] = (c, n, r) => r.MemoryBytes = c.Size(n, "memory", 4 * MiB, TiB),
        ["swap"] = (c, n, r) => r.SwapBytes = c.Size(n, "swap", 0, TiB),
        ["pids"] = (c, n, r) => r.Pids = c.Int(n, "pids", 1, 4_194_304),
    });

    internal static readonly ObjectSchema<Dictionary<string, YamlNode>> RetrySchema = Bag("retry", "max", "exit_codes", "delay");

    internal static readonly ObjectSchema<Dictionary<string, YamlNode>> AllowFailureSchema = Bag("allow_failure", "exit_codes");

    internal static readonly ObjectSchema<WhenSpec> WhenSchema = new("when", new Dictionary<string, Action<ReadContext, YamlNode, WhenSpec>>
    {
        ["branch"] = (c, n, w) => w.Branches = ReadPatterns(c, n, "when.branch"),
        ["tag"] = (c, n, w) => w.Tags = ReadPatterns(c, n, "when.tag"),
        ["event"] = (c, n, w) => w.Events = (c.StringList(n, "when.event") ?? [])
            .Select(e => c.Enum(new YamlScalar(e.Position, e.Value, true), "an event", Events)).OfType<TriggerEvent>().ToList(),
        ["changes"] = (c, n, w) => w.Changes = ReadPatterns(c, n, "when.changes"),
    });

    internal static readonly ObjectSchema<ServiceSpec> ServiceSchema = new("a service", new Dictionary<string, Action<ReadContext, YamlNode, ServiceSpec>>
    {
        ["image"] = (c, n, s) => s.Image = c.String(n, "image") ?? default,
        ["alias"] = (c, n, s) => s.Alias = ReadAlias(c, n),
        ["env"] = (c, n, s) => s.Env = c.Env(n, "env"),
        ["command"] = (c, n, s) => s.Command = c.StringList(n, "command"),
        ["readiness"] = (c, n, s) => s.Readiness = ReadReadiness(c, n),
        ["resources"] = (c, n, s) => s.Resources = ReadResources(c, n),
    })
    {
        Required = ["image"],
    };

    internal static readonly ObjectSchema<ReadinessSpec> ReadinessSchema = new("readiness", new Dictionary<string, Action<ReadContext, YamlNode, ReadinessSpec>>
    {
        ["command"] = (c, n, r) => r.Command = c.StringList(n, "readiness.command"),
        ["tcp"] = (c, n, r) => r.TcpPort = c.Int(n, "readiness.tcp", 1, 65535),
        ["http"] = (c, n, r) => r.Http = ReadHttpCheck(c, n),
        ["interval"] = (c, n, r) => r.Interval = c.Duration(n, "readiness.interval", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10)) ?? r.Interval,
        ["timeout"] = (c, n, r) => r.Timeout = c.Duration(n, "readiness.timeout", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) ?? r.Timeout,
        ["retries"] = (c, n, r) => r.Retries = c.Int(n, "readiness.retries", 1, 10_000) ?? r.Retries,
    });

    internal static readonly ObjectSchema<CacheSpec> CacheSchema = new("a cache", new Dictionary<string, Action<ReadContext, YamlNode, CacheSpec>>
    {
        ["key"] = ReadCacheKey,
        ["paths"] = (c, n, s) => s.Paths = c.StringList(n, "cache.paths") ?? [],
        ["fallback_keys"] = (c, n, s) => s.FallbackKeys = c.StringList(n, "cache.fallback_keys") ?? [],
        ["policy"] = (c, n, s) => s.Policy = c.Enum(n, "cache.policy", new Dictionary<string, CachePolicy>
        {
            ["pull-push"] = CachePolicy.PullPush,
            ["pull"] = CachePolicy.Pull,
            ["push"] = CachePolicy.Push,
        }) ?? CachePolicy.PullPush,
    })
    {
        Required = ["paths"],
    };

    internal static readonly ObjectSchema<CacheSpec> CacheKeySchema = new("cache.key", new Dictionary<string, Action<ReadContext, YamlNode, CacheSpec>>
    {
        ["prefix"] = (c, n, s) => s.KeyPrefix = c.String(n, "cache.key.prefix"),
        ["files"] = (c, n, s) => s.KeyFiles = ReadPatterns(c, n, "cache.key.files") ?? [],
    });

    internal static readonly ObjectSchema<ArtifactsSpec> ArtifactsSchema = new("artifacts", new Dictionary<string, Action<ReadContext, YamlNode, ArtifactsSpec>>
    {
        ["paths"] = (c, n, a) => a.Paths = c.StringList(n, "artifacts.paths") ?? [],
        ["expire_in"] = (c, n, a) => a.ExpireIn = c.Duration(n, "artifacts.expire_in", TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650)) ?? a.ExpireIn,
        ["when"] = (c, n, a) => a.When = c.Enum(n, "artifacts.when", new Dictionary<string, ArtifactsWhen>
        {
            ["on_success"] = ArtifactsWhen.OnSuccess,
            ["on_failure"] = ArtifactsWhen.OnFailure,
            ["always"] = ArtifactsWhen.Always,
        }) ?? a.When,
    })
    {
        Required = ["paths"],
    };

    private static ObjectSchema<Dictionary<string, YamlNode>> Bag(string name, params string[] keys) =>
        new(name, keys.ToDictionary(k => k, k => (Action<ReadContext, YamlNode, Dictionary<string, YamlNode>>)((_, n, d) => d[k] = n)));

    private static ResourcesSpec? ReadResources(ReadContext c, YamlNode n)
    {
        if (c.Mapping(n, "resources") is not { } map)
        {
            return null;
        }

        var r = new ResourcesSpec { Position = n.Position };
        ResourcesSchema.Read(c, map, r);
        return r;
    }

    private static int? ReadCpus(ReadContext c, YamlNode n)
    {
        if (n is not YamlScalar { IsNull: false } s)
        {
            c.WrongType(n, "cpus", "a number such as 2 or 0.5");
            return null;
        }

        if (!Values.Units.TryParseCpus(s.Value, out var milli, out var error))
        {
            c.Error(n, DiagnosticCodes.InvalidCpus, $"cpus: {error}");
            return null;
        }

        if (milli < 10)
        {
            c.Error(n, DiagnosticCodes.OutOfRange, $"cpus must be at least 0.01; got {s.Value}");
            return null;
        }

        return milli;
    }

    private static TimeSpan? ReadTimeout(ReadContext c, YamlNode n) => c.Duration(n, "timeout", TimeSpan.FromSeconds(1), MaxTimeout);

    private static RetrySpec? ReadRetry(ReadContext c, YamlNode n)
    {
        if (n is YamlScalar)
        {
            return c.Int(n, "retry", 0, 10) is { } max ? new RetrySpec(max, [], TimeSpan.Zero) : null;
        }

        if (c.Mapping(n, "retry") is not { } map)
        {
            return null;
        }

        var bag = new Dictionary<string, YamlNode>();
        RetrySchema.Read(c, map, bag);
        var maxRetries = bag.TryGetValue("max", out var m) ? c.Int(m, "retry.max", 0, 10) ?? 0 : 1;
        var codes = bag.TryGetValue("exit_codes", out var e) ? c.IntList(e, "retry.exit_codes", 0, 255) ?? [] : [];
        var delay = bag.TryGetValue("delay", out var d) ? c.Duration(d, "retry.delay", TimeSpan.Zero, TimeSpan.FromHours(1)) ?? TimeSpan.Zero : TimeSpan.Zero;
        return new RetrySpec(maxRetries, codes, delay);
    }

    private static AllowFailureSpec? ReadAllowFailure(ReadContext c, YamlNode n)
    {
        switch (n)
        {
            case YamlScalar s when s.Value is "true" or "false" or "True" or "False" or "yes" or "no":
                return c.Bool(n, "allow_failure") is { } b ? new AllowFailureSpec(b, []) : null;
            case YamlScalar or YamlSequence:
                return c.IntList(n, "allow_failure", 1, 255) is { } codes ? new AllowFailureSpec(false, codes) : null;
        }

        if (c.Mapping(n, "allow_failure") is not { } map)
        {
            return null;
        }

        var bag = new Dictionary<string, YamlNode>();
        AllowFailureSchema.Read(c, map, bag);
        return bag.TryGetValue("exit_codes", out var e) && c.IntList(e, "allow_failure.exit_codes", 1, 255) is { } list
            ? new AllowFailureSpec(false, list)
            : null;
    }

    private static WhenSpec? ReadWhen(ReadContext c, YamlNode n)
    {
        if (n is YamlScalar { Value: "always" or "on_success" or "on_failure" or "manual" or "never" } s)
        {
            var hint = s.Value switch
            {
                "always" => "if: always()",
                "on_failure" => "if: failure()",
                "never" => "if: false",
                _ => "if: success() (the default)",
            };
            c.Error(n, DiagnosticCodes.WrongType, $"when is a mapping of branch, tag, event and changes; for GitLab's 'when: {s.Value}' write '{hint}'");
            return null;
        }

        if (c.Mapping(n, "when") is not { } map)
        {
            return null;
        }

        var w = new WhenSpec { Position = n.Position };
        WhenSchema.Read(c, map, w);
        return w;
    }

    private static ShellSpec? ReadShell(ReadContext c, YamlNode n)
    {
        if (n is YamlScalar { IsNull: false } s)
        {
            var words = s.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0)
            {
                return new ShellSpec(words, s.Position);
            }
        }
        else if (n is YamlSequence && c.StringList(n, "shell") is { Count: > 0 } list)
        {
            return new ShellSpec(list.Select(t => t.Value).ToList(), n.Position);
        }

        c.WrongType(n, "shell", "a shell name (sh, bash) or a command list such as [python3, -c]");
        return null;
    }

    private static Text? ReadAlias(ReadContext c, YamlNode n)
    {
        var t = c.String(n, "alias");
        if (t is { } a && !System.Text.RegularExpressions.Regex.IsMatch(a.Value, "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"))
        {
            c.Error(n, DiagnosticCodes.InvalidName, $"alias '{a.Value}' must be a host name: lower-case letters, digits and '-'");
            return null;
        }

        return t;
    }

    private static IReadOnlyList<ServiceSpec> ReadServices(ReadContext c, YamlNode n)
    {
        var list = new List<ServiceSpec>();
        if (n is not YamlSequence seq)
        {
            c.WrongType(n, "services", "a list of images or service mappings");
            return list;
        }

        foreach (var item in seq.Items)
        {
            var s = new ServiceSpec { Position = item.Position };
            if (item is YamlScalar { IsNull: false } img)
            {
                s.Image = new Text(img.Value, img.Position);
            }
            else if (c.Mapping(item, "a service") is { } m)
            {
                ServiceSchema.Read(c, m, s);
            }
            else
            {
                continue;
            }

            list.Add(s);
        }

        return list;
    }

    private static ReadinessSpec? ReadReadiness(ReadContext c, YamlNode n)
    {
        if (c.Mapping(n, "readiness") is not { } map)
        {
            return null;
        }

        var r = new ReadinessSpec();
        ReadinessSchema.Read(c, map, r);
        if (r.Command is null && r.TcpPort is null && r.Http is null && map.Find("http") is null)
        {
            c.Error(n, DiagnosticCodes.MissingKey, "readiness needs 'command', 'tcp' or 'http'");
        }

        return r;
    }

    /// <summary>An http:// URL with a port-less or numeric-port host; the service is reached inside the job's network.</summary>
    private static Text? ReadHttpCheck(ReadContext c, YamlNode n)
    {
        var t = c.String(n, "readiness.http");
        // With ${{ }} in it, the compiler checks the URL it expands to.
        if (t is { } url && !url.Value.Contains("${{", StringComparison.Ordinal) && !IsHttpUrl(url.Value))
        {
            c.Error(n, DiagnosticCodes.InvalidValue, $"readiness.http '{url.Value}' must be an http:// URL, such as http://localhost:8080/health");
            return null;
        }

        return t;
    }

    internal static bool IsHttpUrl(string text) => Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == "http";

    private static IReadOnlyList<CacheSpec> ReadCaches(ReadContext c, YamlNode n)
    {
        var items = n is YamlSequence seq ? seq.Items : [n];
        var list = new List<CacheSpec>();
        foreach (var item in items)
        {
            if (c.Mapping(item, "cache") is not { } map)
            {
                continue;
            }

            var spec = new CacheSpec { Position = item.Position };
            CacheSchema.Read(c, map, spec);
            list.Add(spec);
        }

        return list;
    }

    private static void ReadCacheKey(ReadContext c, YamlNode n, CacheSpec spec)
    {
        if (n is YamlScalar)
        {
            spec.KeyPrefix = c.String(n, "cache.key");
        }
        else if (c.Mapping(n, "cache.key") is { } map)
        {
            CacheKeySchema.Read(c, map, spec);
        }
    }

    private static ArtifactsSpec? ReadArtifacts(ReadContext c, YamlNode n)
    {
        if (n is YamlSequence)
        {
            return new ArtifactsSpec { Paths = c.StringList(n, "artifacts") ?? [], Position = n.Position };
        }

        if (c.Mapping(n, "artifacts") is not { } map)
        {
            return null;
        }

        var a = new ArtifactsSpec { Position = n.Position };
        ArtifactsSchema.Read(c, map, a);
        return a;
    }
}
