using Ci.Pipeline.Expressions;

namespace Ci.Pipeline.Tests.Expressions;

public sealed class ExpressionTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["CI_COMMIT_BRANCH"] = "release/1.2",
        ["CI_EVENT"] = "push",
        ["matrix.os"] = "alpine",
        ["EMPTY"] = "",
    };

    private static bool Eval(string text, IReadOnlyList<string>? changed = null, RunStatus? status = null)
    {
        Assert.That(ExpressionParser.TryParse(text, out var expr, out _, out var error), Is.True, error);
        Assert.That(ExpressionEvaluator.Check(expr!, Vars.Keys), Is.Empty);
        return ExpressionEvaluator.Evaluate(expr!, new ExpressionScope(Vars, changed, status)).IsTruthy;
    }

    [TestCase("CI_EVENT == 'push'", true)]
    [TestCase("CI_EVENT != 'push'", false)]
    [TestCase("CI_EVENT == 'push' && matrix.os == 'debian'", false)]
    [TestCase("CI_EVENT == 'tag' || matrix.os == 'alpine'", true)]
    [TestCase("!(CI_EVENT == 'tag')", true)]
    [TestCase("startsWith(CI_COMMIT_BRANCH, 'release/')", true)]
    [TestCase("contains(CI_COMMIT_BRANCH, '1.2')", true)]
    [TestCase("endsWith(CI_COMMIT_BRANCH, '.3')", false)]
    [TestCase("CI_COMMIT_BRANCH =~ '^release/[0-9.]+$'", true)]
    [TestCase("CI_COMMIT_BRANCH !~ '^main$'", true)]
    [TestCase("matches(CI_COMMIT_BRANCH, 'release/*')", true)]
    [TestCase("EMPTY", false)]
    [TestCase("'it''s' == \"it's\"", true)]
    public void Expressions_evaluate_over_variables(string text, bool expected) => Assert.That(Eval(text), Is.EqualTo(expected));

    [Test]
    public void Changed_checks_the_changed_files_and_counts_as_met_when_they_are_unknown()
    {
        Assert.That(Eval("changed('src/**')", ["src/a.c"]), Is.True);
        Assert.That(Eval("changed('src/**')", ["docs/a.md"]), Is.False);
        Assert.That(Eval("changed('src/**')", null), Is.True);
    }

    [Test]
    public void Status_functions_read_the_run_status()
    {
        Assert.That(Eval("failure()", status: new RunStatus(true, false)), Is.True);
        Assert.That(Eval("success()", status: new RunStatus(true, false)), Is.False);
        Assert.That(Eval("always()", status: new RunStatus(true, true)), Is.True);
        Assert.That(ExpressionParser.TryParse("failure() || CI_EVENT == 'x'", out var e, out _, out _) && ExpressionEvaluator.UsesStatus(e!), Is.True);
    }

    [TestCase("CI_EVENT ==", 11, "ends too early")]
    [TestCase("(CI_EVENT == 'a'", 16, "expected ')'")]
    [TestCase("'open", 0, "not closed")]
    [TestCase("CI_EVENT = 'a'", 9, "unexpected '='")]
    public void Syntax_errors_point_at_the_offending_character(string text, int offset, string message)
    {
        Assert.That(ExpressionParser.TryParse(text, out _, out var at, out var error), Is.False);
        Assert.That(at, Is.EqualTo(offset));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void Unknown_variables_and_functions_are_found_with_hints()
    {
        Assert.That(ExpressionParser.TryParse("CI_EVNT == 'x' && startWith(CI_EVENT, 'p')", out var expr, out _, out _), Is.True);
        var problems = ExpressionEvaluator.Check(expr!, Vars.Keys);

        Assert.That(problems.Select(p => p.Message), Is.EqualTo(new[]
        {
            "unknown variable 'CI_EVNT' (did you mean 'CI_EVENT'?)",
            "unknown function 'startWith' (did you mean 'startsWith'?)",
        }));
    }

    [Test]
    public void Deeply_nested_expressions_are_refused()
    {
        var text = new string('(', 100) + "true" + new string(')', 100);

        Assert.That(ExpressionParser.TryParse(text, out _, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("nested deeper"));
    }
}
