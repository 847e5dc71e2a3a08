using System.Text;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Expressions;
using Ci.Pipeline.Model;

namespace Ci.Pipeline.Compilation;

/// <summary>
/// Expands <c>${{ expression }}</c> in strings. <c>$${{</c> writes a literal <c>${{</c>. Secrets
/// (<c>${{ secrets.NAME }}</c>) are kept as placeholders and allowed only where the caller says
/// (env values), so their values never enter a plan, a command line or a log.
/// </summary>
internal sealed class Interpolator(DiagnosticBag diagnostics, IReadOnlySet<string> declaredSecrets)
{
    public const string SecretPrefix = "secrets.";

    public static string SecretPlaceholder(string name) => "${{ secrets." + name + " }}";

    /// <summary>The expanded string, or null after reporting a problem.</summary>
    public string? Expand(Text text, IReadOnlyDictionary<string, string> variables, IReadOnlyList<string>? changedFiles,
        List<string>? secretsUsed = null)
    {
        var s = text.Value;
        if (!s.Contains("${{", StringComparison.Ordinal))
        {
            return s;
        }

        var sb = new StringBuilder();
        var ok = true;
        var i = 0;
        while (i < s.Length)
        {
            var open = s.IndexOf("${{", i, StringComparison.Ordinal);
            if (open < 0)
            {
                sb.Append(s, i, s.Length - i);
                break;
            }

            if (open > 0 && s[open - 1] == '$')
            {
                // "$${{" is an escaped "${{".
                sb.Append(s, i, open - 1 - i).Append("${{");
                i = open + 3;
                continue;
            }

            sb.Append(s, i, open - i);
            var close = s.IndexOf("}}", open + 3, StringComparison.Ordinal);
            if (close < 0)
            {
                diagnostics.Error(At(text, open), DiagnosticCodes.InterpolationSyntax, "'${{' is not closed by '}}'");
                return null;
            }

            var inner = s[(open + 3)..close];
            var innerOffset = open + 3;
            i = close + 2;
            if (inner.Trim().Length == 0)
            {
                diagnostics.Error(At(text, open), DiagnosticCodes.InterpolationSyntax, "an empty '${{ }}'");
                ok = false;
                continue;
            }

            if (!ExpressionParser.TryParse(inner, out var expr, out var errAt, out var error))
            {
                diagnostics.Error(At(text, innerOffset + errAt), DiagnosticCodes.ExpressionSyntax, error);
                ok = false;
                continue;
            }

            if (expr is VariableExpr v && v.Name.StartsWith(SecretPrefix, StringComparison.Ordinal))
            {
                var name = v.Name[SecretPrefix.Length..];
                if (!declaredSecrets.Contains(name))
                {
                    diagnostics.Error(At(text, innerOffset + v.Offset), DiagnosticCodes.UnknownVariable,
                        $"secret '{name}' is not declared under 'secrets:'{Parsing.Suggestions.Hint(name, declaredSecrets)}");
                    ok = false;
                }
                else if (secretsUsed is null)
                {
                    diagnostics.Error(At(text, innerOffset + v.Offset), DiagnosticCodes.SecretMisuse,
                        $"secret '{name}' may be used only in env values; set 'env: {{ {name}: ${{{{ secrets.{name} }}}} }}' and read ${name} in the script");
                    ok = false;
                }
                else
                {
                    secretsUsed.Add(name);
                    sb.Append(SecretPlaceholder(name));
                }

                continue;
            }

            var problems = ExpressionEvaluator.Check(expr!, (IReadOnlyCollection<string>)variables.Keys);
            foreach (var (offset, code, message) in problems)
            {
                diagnostics.Error(At(text, innerOffset + offset), code, message);
            }

            if (problems.Count > 0 || ContainsSecret(expr!))
            {
                if (problems.Count == 0)
                {
                    diagnostics.Error(At(text, innerOffset), DiagnosticCodes.SecretMisuse, "secrets may only stand alone in '${{ secrets.NAME }}'");
                }

                ok = false;
                continue;
            }

            sb.Append(ExpressionEvaluator.Evaluate(expr!, new ExpressionScope(variables, changedFiles)).AsString());
        }

        return ok ? sb.ToString() : null;
    }

    private static bool ContainsSecret(Expr expr) => expr switch
    {
        VariableExpr v => v.Name.StartsWith(SecretPrefix, StringComparison.Ordinal),
        NotExpr n => ContainsSecret(n.Operand),
        BinaryExpr b => ContainsSecret(b.Left) || ContainsSecret(b.Right),
        CallExpr c => c.Arguments.Any(ContainsSecret),
        _ => false,
    };

    /// <summary>The source position of a character of a scalar; exact for single-line scalars, line-accurate for block ones.</summary>
    public static SourcePosition At(Text text, int offset)
    {
        var before = text.Value.AsSpan(0, Math.Min(offset, text.Value.Length));
        var newlines = before.Count('\n');
        if (newlines == 0)
        {
            return text.Position.Advance(offset);
        }

        var lastNewline = before.LastIndexOf('\n');
        return text.Position with { Line = text.Position.Line + newlines, Column = offset - lastNewline };
    }
}
