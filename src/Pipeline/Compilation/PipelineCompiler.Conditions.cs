using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Expressions;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;
using Ci.Pipeline.Values;

namespace Ci.Pipeline.Compilation;

public sealed partial class PipelineCompiler
{
    private (RunCondition Condition, string? Skip) JobCondition(JobSpec spec, Dictionary<string, string> vars)
    {
        if (spec.When is { } when && WhenMismatch(when) is { } reason)
        {
            return (RunCondition.OnSuccess, reason);
        }

        return spec.If is { } cond ? Condition(cond, vars) : (RunCondition.OnSuccess, null);
    }

    /// <summary>
    /// Checks an <c>if:</c> expression and decides it now when it does not ask about the run's
    /// status. As in GitHub Actions, an expression without a status function means
    /// <c>success() &amp;&amp; (expression)</c>.
    /// </summary>
    private (RunCondition Condition, string? Skip) Condition(Text text, Dictionary<string, string> vars)
    {
        var source = text.Value.Trim();
        if (source.StartsWith("${{", StringComparison.Ordinal) && source.EndsWith("}}", StringComparison.Ordinal))
        {
            source = source[3..^2];
        }

        var lead = text.Value.IndexOf(source, StringComparison.Ordinal);
        if (!ExpressionParser.TryParse(source, out var expr, out var at, out var error))
        {
            _diagnostics.Error(Interpolator.At(text, lead + at), DiagnosticCodes.ExpressionSyntax, $"if: {error}");
            return (RunCondition.OnSuccess, null);
        }

        var problems = ExpressionEvaluator.Check(expr!, (IReadOnlyCollection<string>)vars.Keys);
        foreach (var (offset, code, message) in problems)
        {
            _diagnostics.Error(Interpolator.At(text, lead + offset), code, $"if: {message}");
        }

        if (problems.Count > 0)
        {
            return (RunCondition.OnSuccess, null);
        }

        if (ExpressionEvaluator.UsesStatus(expr!))
        {
            return (new RunCondition(source.Trim(), AtRunTime: true), null);
        }

        var value = ExpressionEvaluator.Evaluate(expr!, new ExpressionScope(vars, _trigger.ChangedFiles));
        return value.IsTruthy
            ? (RunCondition.OnSuccess, null)
            : (RunCondition.OnSuccess, $"if: {source.Trim()} is false");
    }

    private string? WhenMismatch(WhenSpec when)
    {
        if (when.Events is { } events && !events.Contains(_trigger.Event))
        {
            return $"when.event does not include '{_trigger.Event.Name()}'";
        }

        if (when.Branches is { } branches && !Glob.MatchesList(branches.Select(b => b.Value), _trigger.Branch))
        {
            return $"branch '{_trigger.Branch}' does not match when.branch";
        }

        if (when.Tags is { } tags && !Glob.MatchesList(tags.Select(b => b.Value), _trigger.Tag))
        {
            return _trigger.Tag.Length == 0 ? "when.tag is set and the run has no tag" : $"tag '{_trigger.Tag}' does not match when.tag";
        }

        if (when.Changes is { } changes && _trigger.ChangedFiles is { } changed
            && !changed.Any(f => Glob.MatchesList(changes.Select(c => c.Value), f)))
        {
            return "no changed file matches when.changes";
        }

        return null;
    }
}
