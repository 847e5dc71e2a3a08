using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Parsing;
using Ci.Pipeline.Plan;
using Ci.Pipeline.Sources;
using Ci.Pipeline.Values;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Compilation;

/// <summary>
/// The front end's one entry point: read a pipeline file from a source tree, validate it and
/// compile it, for one trigger, into an <see cref="ExecutionPlan"/>. Only this class knows both
/// the user's model and the plan.
/// </summary>
public sealed partial class PipelineCompiler
{
    public const int MaxJobs = 1000;
    public const string DefaultWorkdir = "/workspace";
    public const int DefaultPids = 4096;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromHours(1);

    private readonly ISourceTree _tree;
    private readonly TriggerContext _trigger;
    private readonly DiagnosticBag _diagnostics;
    private readonly Interpolator _interpolator;
    private readonly PipelineDocument _doc;
    private readonly SourceHasher _hasher;

    private PipelineCompiler(PipelineDocument doc, ISourceTree tree, TriggerContext trigger, DiagnosticBag diagnostics)
    {
        _doc = doc;
        _tree = tree;
        _trigger = trigger;
        _diagnostics = diagnostics;
        _interpolator = new Interpolator(diagnostics, doc.Secrets.Select(s => s.Name.Value).ToHashSet(StringComparer.Ordinal));
        _hasher = new SourceHasher(tree);
    }

    public static CompileResult Compile(ISourceTree tree, string path, TriggerContext trigger, YamlLimits? limits = null)
    {
        var diagnostics = new DiagnosticBag();
        ExecutionPlan? plan = null;
        var doc = PipelineLoader.Load(tree, path, diagnostics, limits);
        if (doc is not null)
        {
            plan = new PipelineCompiler(doc, tree, trigger, diagnostics).Run();
        }

        var ordered = diagnostics.Items
            .OrderBy(d => d.Position.File == (RelativePath.Normalize(path) ?? path) ? 0 : 1)
            .ThenBy(d => d.Position.File, StringComparer.Ordinal)
            .ThenBy(d => d.Position.Line).ThenBy(d => d.Position.Column)
            .ToList();
        return new CompileResult(diagnostics.HasErrors ? null : plan, ordered);
    }

    private ExecutionPlan? Run()
    {
        if (_doc.Jobs.Count == 0)
        {
            _diagnostics.Error(_doc.Position, DiagnosticCodes.NoJobs, "the pipeline has no jobs; add 'jobs:' with at least one job");
            return null;
        }

        CheckSecrets();
        var order = CheckGraph();

        var globals = GlobalVariables();
        var jobs = new List<PlannedJob>();
        var idsByName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var spec in order)
        {
            var cells = ExpandMatrix(spec);
            if (cells is null)
            {
                continue;
            }

            // A key that only some cells have (from include) is empty in the others, so expressions can test it.
            var matrixKeys = cells.SelectMany(c => c.Keys).Distinct(StringComparer.Ordinal).ToList();
            foreach (var cell in cells)
            {
                if (jobs.Count >= MaxJobs)
                {
                    _diagnostics.Error(spec.Position, DiagnosticCodes.MatrixTooLarge, $"the pipeline expands to more than {MaxJobs} jobs");
                    return null;
                }

                var job = CompileJob(spec, cell, matrixKeys, globals, idsByName, jobs);
                if (job is null)
                {
                    continue;
                }

                if (jobs.Any(j => j.Id == job.Id))
                {
                    _diagnostics.Error(spec.Position, DiagnosticCodes.DuplicateJob, $"two jobs are named '{job.Id}'; rename one or change the matrix");
                    continue;
                }

                jobs.Add(job);
                (idsByName.TryGetValue(spec.Name.Value, out var ids) ? ids : idsByName[spec.Name.Value] = []).Add(job.Id);
            }
        }

        if (_diagnostics.HasErrors)
        {
            return null;
        }

        return new ExecutionPlan(_doc.File, _doc.Name?.Value, _trigger, TriggerMismatch(), jobs,
            _doc.Secrets.Select(s => new PlannedSecret(s.Name.Value, s.FromEnv?.Value ?? s.Name.Value, s.Optional)).ToList());
    }

    private void CheckSecrets()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var secret in _doc.Secrets)
        {
            if (!seen.Add(secret.Name.Value))
            {
                _diagnostics.Error(secret.Name.Position, DiagnosticCodes.DuplicateKey, $"secret '{secret.Name.Value}' is declared twice");
            }

            var variable = secret.FromEnv?.Value ?? secret.Name.Value;
            if (_trigger.AvailableSecrets is { } available && !secret.Optional && !available.Has(secret.Name.Value, variable))
            {
                _diagnostics.Error(secret.Name.Position, DiagnosticCodes.SecretMissing,
                    $"secret '{secret.Name.Value}' has no value; put {secret.Name.Value}=VALUE in the --secrets-file, or pass the runner's variable with --secret {variable}");
            }
        }
    }

    private Dictionary<string, string> GlobalVariables()
    {
        var vars = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CI"] = "true",
            ["CI_COMMIT_SHA"] = _trigger.Commit,
            ["CI_COMMIT_SHORT_SHA"] = _trigger.Commit.Length > 8 ? _trigger.Commit[..8] : _trigger.Commit,
            ["CI_COMMIT_BRANCH"] = _trigger.Branch,
            ["CI_COMMIT_TAG"] = _trigger.Tag,
            ["CI_EVENT"] = _trigger.Event.Name(),
            ["CI_PIPELINE_NAME"] = _doc.Name?.Value ?? "",
        };
        foreach (var (k, v) in _trigger.Variables)
        {
            vars[k] = v;
        }

        return vars;
    }

    /// <summary>Why the <c>on:</c> section does not start this pipeline for the trigger, or null when it does.</summary>
    private string? TriggerMismatch()
    {
        if (_doc.On is not { } on)
        {
            return null;
        }

        var ev = _trigger.Event.Name();
        if (!on.TryGetValue(_trigger.Event, out var filter))
        {
            return $"on: does not list the event '{ev}'";
        }

        if (filter.Branches is { } branches && _trigger.Event != TriggerEvent.Tag
            && !Glob.MatchesList(branches.Select(b => b.Value), _trigger.Branch))
        {
            return $"branch '{_trigger.Branch}' does not match on.{ev}.branches";
        }

        if (filter.Tags is { } tags && !Glob.MatchesList(tags.Select(t => t.Value), _trigger.Tag))
        {
            return $"tag '{_trigger.Tag}' does not match on.{ev}.tags";
        }

        if (filter.Paths is { } paths && _trigger.ChangedFiles is { } changed
            && !changed.Any(f => Glob.MatchesList(paths.Select(p => p.Value), f)))
        {
            return $"no changed file matches on.{ev}.paths";
        }

        return null;
    }
}
