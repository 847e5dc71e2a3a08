using System.Text.RegularExpressions;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Compilation;

public sealed partial class PipelineCompiler
{
    private List<PlannedService> Services(JobSpec spec, Dictionary<string, string> vars)
    {
        var list = new List<PlannedService>();
        var aliases = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in spec.Services)
        {
            var image = Expand(s.Image, vars) ?? "";
            var alias = s.Alias?.Value ?? DefaultAlias(image);
            if (!aliases.Add(alias))
            {
                _diagnostics.Error(s.Position, DiagnosticCodes.DuplicateKey, $"two services of job '{spec.Name.Value}' are reachable as '{alias}'; give one an alias");
            }

            var http = s.Readiness?.Http is { } url ? Expand(url, vars) : null;
            if (http is not null && s.Readiness!.Http is { } given && !Parsing.PipelineReader.IsHttpUrl(http))
            {
                _diagnostics.Error(given.Position, DiagnosticCodes.InvalidValue, $"readiness.http '{http}' must be an http:// URL, such as http://localhost:8080/health");
            }

            var readiness = s.Readiness is { } r
                ? new PlannedReadiness(r.Command?.Select(c => Expand(c, vars) ?? c.Value).ToList(), r.TcpPort, r.Interval, r.Timeout, r.Retries,
                    http)
                : null;
            list.Add(new PlannedService(alias, image, ResolveEnv(s.Env, new Dictionary<string, string>(vars, StringComparer.Ordinal), []),
                s.Command?.Select(c => Expand(c, vars) ?? c.Value).ToList(), readiness, s.Resources is null ? null : Limits(s.Resources)));
        }

        return list;
    }

    /// <summary>"docker.io/library/postgres:16" → "postgres", as GitLab names services.</summary>
    private static string DefaultAlias(string image)
    {
        var last = image.Split('/')[^1];
        var name = last.Split('@')[0].Split(':')[0].ToLowerInvariant();
        return Regex.Replace(name, "[^a-z0-9-]", "-");
    }

    private List<PlannedCache> Caches(JobSpec spec, Dictionary<string, string> vars)
    {
        var list = new List<PlannedCache>();
        foreach (var c in spec.Caches)
        {
            var prefix = c.KeyPrefix is { } p ? Expand(p, vars) ?? "" : "";
            var key = prefix;
            if (c.KeyFiles.Count > 0)
            {
                var files = _hasher.Match(c.KeyFiles, _diagnostics);
                var digest = SourceHasher.Digest(files.Select(f => $"{f}:{_hasher.FileDigest(f)}"))[..16];
                key = prefix.Length > 0 ? $"{prefix}-{digest}" : digest;
            }

            if (key.Length == 0)
            {
                key = "default";
            }

            var fallbacks = c.FallbackKeys.Select(f => SafeKey(Expand(f, vars) ?? "")).Where(f => f.Length > 0).ToList();
            var paths = c.Paths.Select(x => Expand(x, vars) ?? x.Value).ToList();
            list.Add(new PlannedCache(SafeKey(key), fallbacks, paths, c.Policy));
        }

        return list;
    }

    /// <summary>Cache keys name directories: anything but letters, digits, '.', '_' and '-' becomes '-'.</summary>
    private static string SafeKey(string key)
    {
        var safe = Regex.Replace(key, "[^A-Za-z0-9._-]", "-").Trim('.');
        return safe.Length > 200 ? safe[..200] : safe;
    }

    private PlannedArtifacts? Artifacts(JobSpec spec, Dictionary<string, string> vars)
    {
        if (spec.Artifacts is not { } a)
        {
            return null;
        }

        var paths = new List<string>();
        foreach (var p in a.Paths)
        {
            var value = Expand(p, vars) ?? p.Value;
            if (value.StartsWith('/') || value.Split('/').Contains(".."))
            {
                _diagnostics.Error(p.Position, DiagnosticCodes.InvalidPattern,
                    $"artifact path '{value}' must be relative to the job's workdir and stay inside it");
                continue;
            }

            paths.Add(value);
        }

        return new PlannedArtifacts(paths, a.ExpireIn, a.When);
    }
}
