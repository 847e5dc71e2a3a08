using System.Text.RegularExpressions;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Values;

namespace Ci.Pipeline.Expressions;

/// <summary>
/// Checks and evaluates expressions. <see cref="Check"/> finds unknown variables, functions and
/// bad regular expressions before anything runs; <see cref="Evaluate"/> then cannot fail on them.
/// </summary>
public static class ExpressionEvaluator
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);

    private static readonly Dictionary<string, (int Min, int Max)> Functions = new()
    {
        ["contains"] = (2, 2),
        ["startsWith"] = (2, 2),
        ["endsWith"] = (2, 2),
        ["matches"] = (2, 2),
        ["changed"] = (1, 64),
        ["success"] = (0, 0),
        ["failure"] = (0, 0),
        ["always"] = (0, 0),
        ["cancelled"] = (0, 0),
    };

    private static readonly HashSet<string> StatusFunctions = ["success", "failure", "always", "cancelled"];

    public static IReadOnlyCollection<string> FunctionNames => Functions.Keys;

    /// <summary>Problems with their offsets; empty when the expression can be evaluated in a scope with these variable names.</summary>
    public static IReadOnlyList<(int Offset, string Code, string Message)> Check(Expr expr, IReadOnlyCollection<string> variables)
    {
        var problems = new List<(int, string, string)>();
        Walk(expr, e =>
        {
            switch (e)
            {
                case VariableExpr v when !variables.Contains(v.Name):
                    problems.Add((v.Offset, DiagnosticCodes.UnknownVariable, $"unknown variable '{v.Name}'{Parsing.Suggestions.Hint(v.Name, variables)}"));
                    break;
                case CallExpr c when !Functions.TryGetValue(c.Function, out _):
                    problems.Add((c.Offset, DiagnosticCodes.ExpressionSyntax, $"unknown function '{c.Function}'{Parsing.Suggestions.Hint(c.Function, Functions.Keys)}"));
                    break;
                case CallExpr c when Functions[c.Function] is var (min, max) && (c.Arguments.Count < min || c.Arguments.Count > max):
                    problems.Add((c.Offset, DiagnosticCodes.ExpressionSyntax, min == max
                        ? $"{c.Function}() takes {min} argument{(min == 1 ? "" : "s")}, not {c.Arguments.Count}"
                        : $"{c.Function}() takes {min} to {max} arguments, not {c.Arguments.Count}"));
                    break;
                case BinaryExpr { Operator: "=~" or "!~", Right: LiteralExpr { Value.Text: { } pattern } } b:
                    try
                    {
                        _ = new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
                    }
                    catch (ArgumentException ex)
                    {
                        problems.Add((b.Right.Offset, DiagnosticCodes.InvalidPattern, $"invalid regular expression '{pattern}': {ex.Message}"));
                    }

                    break;
            }
        });
        return problems;
    }

    /// <summary>True when the expression asks about the run's status and so can only be decided while running.</summary>
    public static bool UsesStatus(Expr expr)
    {
        var uses = false;
        Walk(expr, e => uses |= e is CallExpr c && StatusFunctions.Contains(c.Function));
        return uses;
    }

    public static Value Evaluate(Expr expr, ExpressionScope scope) => expr switch
    {
        LiteralExpr l => l.Value,
        VariableExpr v => scope.Variables.TryGetValue(v.Name, out var s) ? Value.Of(s) : Value.Null,
        NotExpr n => Value.Of(!Evaluate(n.Operand, scope).IsTruthy),
        BinaryExpr { Operator: "&&" } b => Evaluate(b.Left, scope) is var l && !l.IsTruthy ? l : Evaluate(b.Right, scope),
        BinaryExpr { Operator: "||" } b => Evaluate(b.Left, scope) is var l && l.IsTruthy ? l : Evaluate(b.Right, scope),
        BinaryExpr { Operator: "==" } b => Value.Of(Evaluate(b.Left, scope).AsString() == Evaluate(b.Right, scope).AsString()),
        BinaryExpr { Operator: "!=" } b => Value.Of(Evaluate(b.Left, scope).AsString() != Evaluate(b.Right, scope).AsString()),
        BinaryExpr { Operator: "=~" } b => Value.Of(RegexMatch(Evaluate(b.Left, scope), Evaluate(b.Right, scope))),
        BinaryExpr { Operator: "!~" } b => Value.Of(!RegexMatch(Evaluate(b.Left, scope), Evaluate(b.Right, scope))),
        CallExpr c => Call(c, scope),
        _ => throw new InvalidOperationException($"unknown expression node {expr.GetType().Name}"),
    };

    private static Value Call(CallExpr c, ExpressionScope scope)
    {
        string Arg(int i) => Evaluate(c.Arguments[i], scope).AsString();
        var status = scope.Status ?? new RunStatus(false, false);
        return c.Function switch
        {
            "contains" => Value.Of(Arg(0).Contains(Arg(1), StringComparison.Ordinal)),
            "startsWith" => Value.Of(Arg(0).StartsWith(Arg(1), StringComparison.Ordinal)),
            "endsWith" => Value.Of(Arg(0).EndsWith(Arg(1), StringComparison.Ordinal)),
            "matches" => Value.Of(Glob.IsMatch(Arg(1), Arg(0))),
            // Without a list of changed files (a manual run, a first push) every path counts as changed.
            "changed" => Value.Of(scope.ChangedFiles is not { } files
                || files.Any(f => Glob.MatchesList(c.Arguments.Select((_, i) => Arg(i)), f))),
            "success" => Value.Of(!status.AnyFailed && !status.Cancelled),
            "failure" => Value.Of(status.AnyFailed),
            "always" => Value.True,
            "cancelled" => Value.Of(status.Cancelled),
            _ => throw new InvalidOperationException($"unknown function {c.Function}"),
        };
    }

    private static bool RegexMatch(Value input, Value pattern)
    {
        try
        {
            return Regex.IsMatch(input.AsString(), pattern.AsString(), RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (Exception ex) when (ex is ArgumentException or RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static void Walk(Expr expr, Action<Expr> visit)
    {
        visit(expr);
        switch (expr)
        {
            case NotExpr n:
                Walk(n.Operand, visit);
                break;
            case BinaryExpr b:
                Walk(b.Left, visit);
                Walk(b.Right, visit);
                break;
            case CallExpr c:
                foreach (var a in c.Arguments)
                {
                    Walk(a, visit);
                }

                break;
        }
    }
}
