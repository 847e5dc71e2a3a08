using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Compilation;

public sealed partial class PipelineCompiler
{
    private PlannedJob? CompileJob(JobSpec spec, Dictionary<string, string> cell, IReadOnlyList<string> matrixKeys, Dictionary<string, string> globals,
        Dictionary<string, List<string>> idsByName, List<PlannedJob> compiled)
    {
        var name = spec.Name.Value;
        var id = cell.Count == 0 ? name : $"{name}-{CellSuffix(cell)}";
        var display = cell.Count == 0 ? name : $"{name} ({string.Join(", ", cell.Values)})";

        var vars = new Dictionary<string, string>(globals, StringComparer.Ordinal) { ["CI_JOB_NAME"] = id };
        foreach (var k in matrixKeys)
        {
            vars["matrix." + k] = cell.GetValueOrDefault(k, "");
        }

        var env = ResolveEnv([.. _doc.Env, .. spec.Env], vars, Predefined(vars));
        var needs = spec.Needs.SelectMany(n => idsByName.GetValueOrDefault(n.Value) ?? []).Distinct().ToList();
        var image = (spec.Image ?? _doc.Image) is { } img ? Expand(img, vars) : null;
        var resources = spec.Resources?.Over(_doc.Resources) ?? _doc.Resources;
        var limits = Limits(resources);
        var defaults = _doc.Defaults;
        var timeout = spec.Timeout ?? defaults.Timeout ?? DefaultTimeout;
        var retry = ToPolicy(spec.Retry ?? defaults.Retry);
        var allowFailure = ToPolicy(spec.AllowFailure ?? defaults.AllowFailure);
        var workdir = ResolveWorkdir(spec.Workdir ?? defaults.Workdir, DefaultWorkdir, vars);
        var user = (spec.User ?? defaults.User) is { } u ? Expand(u, vars) : null;
        var shell = spec.Shell ?? defaults.Shell;
        var network = spec.Network ?? defaults.Network ?? NetworkMode.Bridge;

        var (condition, skip) = JobCondition(spec, vars);
        if (skip is null)
        {
            var skippedNeed = needs.Select(n => compiled.FirstOrDefault(j => j.Id == n)).FirstOrDefault(j => j is { IsSkipped: true });
            // A job that asks for the status itself (always(), failure()) still runs after a skipped need.
            if (skippedNeed is not null && condition == RunCondition.OnSuccess)
            {
                skip = $"needs '{skippedNeed!.Id}', which is skipped";
            }
        }

        var steps = new List<PlannedStep>();
        CheckLayerCacheOrder(spec);
        for (var i = 0; i < spec.Steps.Count; i++)
        {
            if (CompileStep(spec.Steps[i], i, vars, env, image, workdir, user, shell, resources, timeout) is { } step)
            {
                steps.Add(step);
            }
        }

        return new PlannedJob(id, name, display, cell, needs, image, steps, env, limits, timeout, retry, allowFailure,
            condition, skip, Services(spec, vars), Caches(spec, vars), Artifacts(spec, vars), workdir, user, network, vars);
    }

    private PlannedStep? CompileStep(StepSpec spec, int index, Dictionary<string, string> jobVars, IReadOnlyList<EnvVar> jobEnv,
        string? image, string jobWorkdir, string? jobUser, ShellSpec? jobShell, ResourcesSpec? jobResources, TimeSpan jobTimeout)
    {
        var vars = new Dictionary<string, string>(jobVars, StringComparer.Ordinal);
        var env = ResolveEnv(spec.Env, vars, jobEnv);
        var script = Expand(spec.Run, vars) ?? "";
        var name = spec.Name is { } n ? Expand(n, vars) ?? n.Value : FirstLine(script);
        var workdir = ResolveWorkdir(spec.Workdir, jobWorkdir, vars);
        var user = spec.User is { } u ? Expand(u, vars) : jobUser;
        var shell = spec.Shell ?? jobShell;
        var command = ShellCommand(shell, script);
        var timeout = spec.Timeout is { } t && t < jobTimeout ? t : jobTimeout;
        var resources = spec.Resources?.Over(jobResources) ?? jobResources;

        var (condition, skip) = (RunCondition.OnSuccess, (string?)null);
        if (spec.If is { } cond)
        {
            (condition, skip) = Condition(cond, vars);
        }

        LayerCachePlan? layer = null;
        if (spec.LayerCache)
        {
            var keyFiles = spec.KeyFiles.Count > 0 ? _hasher.Match(spec.KeyFiles, _diagnostics) : [];
            var inputs = SourceHasher.Digest(
                ["step-layer-v1", image ?? "", string.Join("\0", command), user ?? "", workdir,
                 // The predefined variables (the commit, the branch…) would make every commit miss; only what the pipeline sets counts.
                 .. env.Where(e => !e.Predefined).Select(e => $"{e.Name}={e.Value}"),
                 .. keyFiles.Select(f => $"{f}:{_hasher.FileDigest(f)}")]);
            layer = new LayerCachePlan(inputs, keyFiles, WholeCheckout: spec.KeyFiles.Count == 0);
        }

        return new PlannedStep(index + 1, name, command, script, env, workdir, user, Limits(resources), timeout,
            ToPolicy(spec.Retry), ToPolicy(spec.AllowFailure), condition, skip, layer, spec.Network);
    }

    /// <summary>Resolves env entries in order over <paramref name="inherited"/>; each value may use earlier ones.</summary>
    /// <summary>
    /// A cached step's key includes the layers under it, and a step that is not cached makes a new
    /// layer every run (as in a Dockerfile, where a changed layer invalidates every one above it):
    /// a <c>cache: layer</c> step after one that is not cached can never hit. Said once a job, at
    /// the first such step.
    /// </summary>
    private void CheckLayerCacheOrder(JobSpec spec)
    {
        var uncached = spec.Steps.Select((s, i) => (s, i)).FirstOrDefault(x => !x.s.LayerCache);
        if (uncached.s is null)
        {
            return;
        }

        if (spec.Steps.Skip(uncached.i + 1).FirstOrDefault(s => s.LayerCache) is { } cached)
        {
            _diagnostics.Warning(cached.Position, DiagnosticCodes.CacheNeverHits,
                $"this cache: layer step of job '{spec.Name.Value}' comes after step {uncached.i + 1}, which is not cached: that step makes a new layer every run, " +
                "so this one never hits; put cached steps first");
        }
    }

    /// <summary>The predefined variables a step's environment starts from (the reference's list), with this job's values.</summary>
    private static List<EnvVar> Predefined(Dictionary<string, string> vars) =>
        PredefinedNames.Select(name => new EnvVar(name, vars.GetValueOrDefault(name, ""), []) { Predefined = true }).ToList();

    private static readonly string[] PredefinedNames =
        ["CI", "CI_COMMIT_SHA", "CI_COMMIT_SHORT_SHA", "CI_COMMIT_BRANCH", "CI_COMMIT_TAG", "CI_EVENT", "CI_JOB_NAME", "CI_PIPELINE_NAME"];

    private List<EnvVar> ResolveEnv(IEnumerable<EnvEntry> entries, Dictionary<string, string> vars, IReadOnlyList<EnvVar> inherited)
    {
        var result = inherited.ToDictionary(e => e.Name, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var secrets = new List<string>();
            if (_interpolator.Expand(entry.Value, vars, _trigger.ChangedFiles, secrets) is not { } value)
            {
                continue;
            }

            result[entry.Name.Value] = new EnvVar(entry.Name.Value, value, secrets);
            if (secrets.Count == 0)
            {
                vars[entry.Name.Value] = value;
            }
        }

        return [.. result.Values];
    }

    private string? Expand(Text text, Dictionary<string, string> vars) => _interpolator.Expand(text, vars, _trigger.ChangedFiles);

    private string ResolveWorkdir(Text? workdir, string parent, Dictionary<string, string> vars)
    {
        if (workdir is not { } w || Expand(w, vars) is not { } value)
        {
            return parent;
        }

        var combined = value.StartsWith('/') ? value : parent.TrimEnd('/') + "/" + value;
        var normalized = "/" + (Sources.RelativePath.Normalize(combined.TrimStart('/')) ?? "");
        if (combined.Split('/').Contains(".."))
        {
            _diagnostics.Warning(w.Position, DiagnosticCodes.Ignored, $"workdir '{value}' uses '..'; it resolves to '{normalized}'");
        }

        return normalized;
    }

    private static IReadOnlyList<string> ShellCommand(ShellSpec? shell, string script)
    {
        var words = shell?.Command ?? ["sh"];
        IReadOnlyList<string> prefix = words switch
        {
            ["sh"] => ["/bin/sh", "-e", "-c"],
            ["bash"] => ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c"],
            _ => words,
        };
        return [.. prefix, script];
    }

    private static ResourceLimits Limits(ResourcesSpec? r) =>
        new(r?.MilliCpus, r?.MemoryBytes, r?.SwapBytes, r?.Pids ?? DefaultPids);

    private static RetryPolicy ToPolicy(RetrySpec? r) => r is null ? RetryPolicy.None : new RetryPolicy(r.Max, r.ExitCodes, r.Delay);

    private static FailurePolicy ToPolicy(AllowFailureSpec? a) => a is null ? FailurePolicy.None : new FailurePolicy(a.Any, a.ExitCodes);

    private static string FirstLine(string script)
    {
        var line = script.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
        return line.Length > 60 ? line[..60] + "…" : line;
    }
}
