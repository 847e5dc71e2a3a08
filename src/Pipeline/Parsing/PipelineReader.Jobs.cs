using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Parsing;

internal static partial class PipelineReader
{
    internal static readonly ObjectSchema<JobSpec> JobSchema = new("a job", new Dictionary<string, Action<ReadContext, YamlNode, JobSpec>>
    {
        ["image"] = (c, n, j) => j.Image = c.String(n, "image"),
        ["needs"] = (c, n, j) => j.Needs = n is YamlScalar { IsNull: true } ? [] : c.StringList(n, "needs") ?? [],
        ["steps"] = (c, n, j) => j.Steps = ReadSteps(c, n),
        ["env"] = (c, n, j) => j.Env = c.Env(n, "env"),
        ["resources"] = (c, n, j) => j.Resources = ReadResources(c, n),
        ["timeout"] = (c, n, j) => j.Timeout = ReadTimeout(c, n),
        ["retry"] = (c, n, j) => j.Retry = ReadRetry(c, n),
        ["allow_failure"] = (c, n, j) => j.AllowFailure = ReadAllowFailure(c, n),
        ["when"] = (c, n, j) => j.When = ReadWhen(c, n),
        ["if"] = (c, n, j) => j.If = c.String(n, "if"),
        ["matrix"] = (c, n, j) => j.Matrix = ReadMatrix(c, n),
        ["services"] = (c, n, j) => j.Services = ReadServices(c, n),
        ["cache"] = (c, n, j) => j.Caches = ReadCaches(c, n),
        ["artifacts"] = (c, n, j) => j.Artifacts = ReadArtifacts(c, n),
        ["workdir"] = (c, n, j) => j.Workdir = c.String(n, "workdir"),
        ["user"] = (c, n, j) => j.User = c.String(n, "user"),
        ["shell"] = (c, n, j) => j.Shell = ReadShell(c, n),
        ["network"] = (c, n, j) => j.Network = c.Enum(n, "network", Networks),
    })
    {
        Deprecated = new Dictionary<string, string> { ["depends_on"] = "needs" },
    };

    internal static readonly ObjectSchema<StepSpec> StepSchema = new("a step", new Dictionary<string, Action<ReadContext, YamlNode, StepSpec>>
    {
        ["name"] = (c, n, s) => s.Name = c.String(n, "name"),
        ["run"] = (c, n, s) => s.Run = c.String(n, "run") ?? default,
        ["env"] = (c, n, s) => s.Env = c.Env(n, "env"),
        ["timeout"] = (c, n, s) => s.Timeout = ReadTimeout(c, n),
        ["retry"] = (c, n, s) => s.Retry = ReadRetry(c, n),
        ["allow_failure"] = (c, n, s) => s.AllowFailure = ReadAllowFailure(c, n),
        ["if"] = (c, n, s) => s.If = c.String(n, "if"),
        ["workdir"] = (c, n, s) => s.Workdir = c.String(n, "workdir"),
        ["user"] = (c, n, s) => s.User = c.String(n, "user"),
        ["shell"] = (c, n, s) => s.Shell = ReadShell(c, n),
        ["resources"] = (c, n, s) => s.Resources = ReadResources(c, n),
        ["cache"] = (c, n, s) => s.LayerCache = ReadStepCache(c, n),
        ["key_files"] = (c, n, s) => s.KeyFiles = ReadPatterns(c, n, "key_files") ?? [],
        ["network"] = (c, n, s) => s.Network = c.Enum(n, "network", Networks),
    })
    {
        Deprecated = new Dictionary<string, string> { ["script"] = "run" },
        Required = ["run"],
    };

    private static IReadOnlyList<JobSpec> ReadJobs(ReadContext c, YamlNode n)
    {
        var jobs = new List<JobSpec>();
        if (c.Mapping(n, "jobs") is not { } map)
        {
            return jobs;
        }

        foreach (var (key, value) in map.Entries)
        {
            if (!Names.IsJobName(key.Value))
            {
                c.Error(key, DiagnosticCodes.InvalidName,
                    $"job name '{key.Value}' may hold only letters, digits, '.', '_' and '-', start with a letter or digit, and be at most 64 long");
            }

            var job = new JobSpec { Name = new Text(key.Value, key.Position), Position = key.Position };
            if (value is YamlScalar { IsNull: true })
            {
                c.Diagnostics.Error(key.Position, DiagnosticCodes.EmptyJob, $"job '{key.Value}' is empty; give it steps");
            }
            else if (c.Mapping(value, $"job '{key.Value}'") is { } jm)
            {
                JobSchema.Read(c, jm, job);
                if (jm.Find("steps") is null)
                {
                    c.Diagnostics.Error(key.Position, DiagnosticCodes.EmptyJob, $"job '{key.Value}' has no steps");
                }
            }

            jobs.Add(job);
        }

        return jobs;
    }

    private static IReadOnlyList<StepSpec> ReadSteps(ReadContext c, YamlNode n)
    {
        var steps = new List<StepSpec>();
        if (n is not YamlSequence seq)
        {
            c.WrongType(n, "steps", "a list of steps");
            return steps;
        }

        if (seq.Items.Count == 0)
        {
            c.Error(n, DiagnosticCodes.EmptyJob, "steps is empty; a job needs at least one step");
        }

        foreach (var item in seq.Items)
        {
            var step = new StepSpec { Position = item.Position };
            switch (item)
            {
                case YamlScalar { IsNull: false } s:
                    // "- make test" is short for "- run: make test".
                    step.Run = new Text(s.Value, s.Position);
                    break;
                case YamlMapping m:
                    StepSchema.Read(c, m, step);
                    if (step.KeyFiles.Count > 0 && !step.LayerCache)
                    {
                        c.Diagnostics.Warning(m.Find("key_files")!.Key.Position, DiagnosticCodes.Ignored,
                            "key_files has an effect only with 'cache: layer' on the same step");
                    }

                    break;
                default:
                    c.WrongType(item, "a step", "a command string or a mapping with 'run'");
                    break;
            }

            steps.Add(step);
        }

        return steps;
    }

    private static bool ReadStepCache(ReadContext c, YamlNode n)
    {
        if (n is YamlScalar { Value: "layer" })
        {
            return true;
        }

        if (n is YamlScalar { Value: "false" or "none" })
        {
            return false;
        }

        c.Error(n, DiagnosticCodes.InvalidValue,
            "a step's cache must be 'layer' (reuse the step's filesystem result while its inputs are unchanged); directory caches belong to the job");
        return false;
    }
}
