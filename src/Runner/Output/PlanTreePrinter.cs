using Ci.Pipeline.Compilation;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;
using Ci.Pipeline.Values;

namespace Ci.Runner.Output;

/// <summary>Prints a plan as a tree a person can check at a glance: jobs in order, their limits, steps and skips.</summary>
internal static class PlanTreePrinter
{
    public static void Print(TextWriter w, ExecutionPlan plan)
    {
        var t = plan.Trigger;
        var commit = t.Commit.Length >= 8 ? t.Commit[..8] : t.Commit;
        w.WriteLine($"pipeline {plan.Name ?? plan.File} ({Describe(t.Event)}{(t.Branch.Length > 0 ? $", branch {t.Branch}" : "")}{(t.Tag.Length > 0 ? $", tag {t.Tag}" : "")}{(commit.Length > 0 ? $", commit {commit}" : "")})");
        if (!plan.IsTriggered)
        {
            w.WriteLine($"  not triggered: {plan.NotTriggeredReason}");
        }

        for (var i = 0; i < plan.Jobs.Count; i++)
        {
            var job = plan.Jobs[i];
            var last = i == plan.Jobs.Count - 1;
            w.WriteLine($"{(last ? "└─ " : "├─ ")}{job.DisplayName}{JobDetails(job)}");
            var indent = last ? "   " : "│  ";
            if (job.IsSkipped)
            {
                w.WriteLine($"{indent}   skipped: {job.SkipReason}");
                continue;
            }

            foreach (var line in JobLines(job))
            {
                w.WriteLine($"{indent}   {line}");
            }

            for (var s = 0; s < job.Steps.Count; s++)
            {
                var step = job.Steps[s];
                var lastStep = s == job.Steps.Count - 1;
                w.WriteLine($"{indent}{(lastStep ? "└─ " : "├─ ")}{step.Index}. {step.Name}{StepDetails(step, job)}");
            }
        }
    }

    private static string Describe(Ci.Pipeline.Model.TriggerEvent e) => e.Name();

    private static string JobDetails(PlannedJob job)
    {
        var parts = new List<string> { $"image {job.Image ?? "(default)"}" };
        if (job.Needs.Count > 0)
        {
            parts.Add($"needs {string.Join(", ", job.Needs)}");
        }

        parts.AddRange(Limits(job.Limits));
        parts.Add($"timeout {Units.FormatDuration(job.Timeout)}");
        // bridge is the default and goes unsaid; host gives up the job's isolation, so the plan says so.
        if (job.Network != Ci.Pipeline.Model.NetworkMode.Bridge)
        {
            parts.Add(NetworkText(job.Network));
        }

        if (job.Condition.AtRunTime && job.Condition != RunCondition.OnSuccess)
        {
            parts.Add($"if {job.Condition.Expression}");
        }

        return " [" + string.Join("; ", parts) + "]";
    }

    private static string NetworkText(Ci.Pipeline.Model.NetworkMode mode) => mode == Ci.Pipeline.Model.NetworkMode.Host
        ? "network host: the host's own network, not isolated"
        : $"network {mode.ToString().ToLowerInvariant()}";

    private static IEnumerable<string> JobLines(PlannedJob job)
    {
        foreach (var service in job.Services)
        {
            yield return $"service {service.Alias}: {service.Image}";
        }

        foreach (var cache in job.Caches)
        {
            yield return $"cache {cache.Key} → {string.Join(", ", cache.Paths)}{(cache.FallbackKeys.Count > 0 ? $" (fallback {string.Join(", ", cache.FallbackKeys)})" : "")}";
        }

        if (job.Artifacts is { } a)
        {
            yield return $"artifacts {string.Join(", ", a.Paths)} (kept {Units.FormatDuration(a.ExpireIn)})";
        }
    }

    private static string StepDetails(PlannedStep step, PlannedJob job)
    {
        var parts = new List<string>();
        if (step.SkipReason is { } skip)
        {
            return $" — skipped: {skip}";
        }

        if (step.LayerCache is { } layer)
        {
            parts.Add(layer.WholeCheckout ? "cache: layer (keyed on the whole checkout)" : $"cache: layer (key files {string.Join(", ", layer.KeyFiles)})");
        }

        if (step.Condition != RunCondition.OnSuccess)
        {
            parts.Add($"if {step.Condition.Expression}");
        }

        if (step.Limits != job.Limits)
        {
            parts.AddRange(Limits(step.Limits));
        }

        if (step.Timeout != job.Timeout)
        {
            parts.Add($"timeout {Units.FormatDuration(step.Timeout)}");
        }

        if (step.Retry.Max > 0)
        {
            parts.Add($"retry {step.Retry.Max}");
        }

        if (step.Network is { } network && network != job.Network)
        {
            parts.Add(NetworkText(network) + (job.Services.Count > 0 ? " (the job's services are out of its reach)" : ""));
        }

        if (step.AllowFailure.Any || step.AllowFailure.ExitCodes.Count > 0)
        {
            parts.Add(step.AllowFailure.Any ? "may fail" : $"may fail with {string.Join(", ", step.AllowFailure.ExitCodes)}");
        }

        return parts.Count == 0 ? "" : " [" + string.Join("; ", parts) + "]";
    }

    private static IEnumerable<string> Limits(ResourceLimits l)
    {
        if (l.MilliCpus is { } c)
        {
            yield return $"{Units.FormatCpus(c)} cpus";
        }

        if (l.MemoryBytes is { } m)
        {
            yield return $"memory {Units.FormatBytes(m)}";
        }

        if (l.Pids is { } p && p != PipelineCompiler.DefaultPids)
        {
            yield return $"pids {p}";
        }
    }
}
