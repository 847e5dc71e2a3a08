using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;

namespace Ci.Pipeline.Compilation;

public sealed partial class PipelineCompiler
{
    /// <summary>Checks needs (unknown jobs, cycles) and returns the jobs in a topological order.</summary>
    private List<JobSpec> CheckGraph()
    {
        var byName = new Dictionary<string, JobSpec>(StringComparer.Ordinal);
        foreach (var job in _doc.Jobs)
        {
            if (!byName.TryAdd(job.Name.Value, job))
            {
                _diagnostics.Error(job.Name.Position, DiagnosticCodes.DuplicateJob,
                    $"job '{job.Name.Value}' is defined twice (first at {byName[job.Name.Value].Position})");
            }
        }

        foreach (var job in _doc.Jobs)
        {
            foreach (var need in job.Needs)
            {
                if (need.Value == job.Name.Value)
                {
                    _diagnostics.Error(need.Position, DiagnosticCodes.DependencyCycle, $"job '{job.Name.Value}' needs itself");
                }
                else if (!byName.ContainsKey(need.Value))
                {
                    _diagnostics.Error(need.Position, DiagnosticCodes.UnknownNeed,
                        $"job '{job.Name.Value}' needs '{need.Value}', which is not a job{Parsing.Suggestions.Hint(need.Value, byName.Keys)}");
                }
            }
        }

        // Depth-first search; a grey node met again closes a cycle, which is reported with its path.
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<JobSpec>();
        var path = new List<JobSpec>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in byName.Values)
        {
            Visit(job);
        }

        // With a cycle the order is only partial; it still lets the compiler report every other problem.
        return order;

        void Visit(JobSpec job)
        {
            var name = job.Name.Value;
            if (state.GetValueOrDefault(name) == 2)
            {
                return;
            }

            if (state.GetValueOrDefault(name) == 1)
            {
                var start = path.FindIndex(j => j.Name.Value == name);
                var cycle = path.Skip(start).Select(j => j.Name.Value).Append(name).ToList();
                if (reported.Add(string.Join(",", cycle.Skip(1).Order(StringComparer.Ordinal))))
                {
                    var from = path[^1];
                    var at = from.Needs.First(n => n.Value == name).Position;
                    _diagnostics.Error(at, DiagnosticCodes.DependencyCycle, $"dependency cycle: {string.Join(" → ", cycle)}");
                }

                return;
            }

            state[name] = 1;
            path.Add(job);
            foreach (var need in job.Needs)
            {
                if (need.Value != name && byName.TryGetValue(need.Value, out var needed))
                {
                    Visit(needed);
                }
            }

            path.RemoveAt(path.Count - 1);
            state[name] = 2;
            order.Add(job);
        }
    }
}
