using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Compilation;

/// <summary>A plan, or the reasons there is none. A result with any error never carries a plan.</summary>
public sealed record CompileResult(ExecutionPlan? Plan, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Succeeded => Plan is not null;

    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);
}
