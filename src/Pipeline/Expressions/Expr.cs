namespace Ci.Pipeline.Expressions;

/// <summary>An expression of the <c>if:</c> and <c>${{ }}</c> language. Offset is where it starts in the source text.</summary>
public abstract record Expr(int Offset);

public sealed record LiteralExpr(int Offset, Value Value) : Expr(Offset);

public sealed record VariableExpr(int Offset, string Name) : Expr(Offset);

public sealed record NotExpr(int Offset, Expr Operand) : Expr(Offset);

public sealed record BinaryExpr(int Offset, string Operator, Expr Left, Expr Right) : Expr(Offset);

public sealed record CallExpr(int Offset, string Function, IReadOnlyList<Expr> Arguments) : Expr(Offset);

/// <summary>A value: a string, a boolean or null. Numbers are strings that look like numbers.</summary>
public readonly record struct Value(string? Text, bool? Bool)
{
    public static Value Null { get; } = new(null, null);

    public static Value True { get; } = new(null, true);

    public static Value False { get; } = new(null, false);

    public static Value Of(string s) => new(s, null);

    public static Value Of(bool b) => b ? True : False;

    public bool IsTruthy => Bool ?? (Text is { Length: > 0 } t && t != "false" && t != "0");

    public string AsString() => Bool is { } b ? (b ? "true" : "false") : Text ?? "";
}
