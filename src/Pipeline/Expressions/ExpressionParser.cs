using System.Text;

namespace Ci.Pipeline.Expressions;

/// <summary>
/// Parses the expression language:
/// <code>
/// expr    := and ('||' and)*
/// and     := unary ('&amp;&amp;' unary)*
/// unary   := '!' unary | compare
/// compare := primary (('==' | '!=' | '=~' | '!~') primary)?
/// primary := 'string' | "string" | number | true | false | null
///          | name ('.' name)* | name '(' args ')' | '(' expr ')'
/// </code>
/// Errors carry the offset in the text, so diagnostics point at the exact column.
/// </summary>
public sealed class ExpressionParser
{
    public const int MaxLength = 4096;
    private const int MaxDepth = 32;

    private readonly string _text;
    private int _pos;
    private int _depth;

    private ExpressionParser(string text) => _text = text;

    public sealed class ParseException(int offset, string message) : Exception(message)
    {
        public int Offset { get; } = offset;
    }

    public static bool TryParse(string text, out Expr? expr, out int errorOffset, out string error)
    {
        expr = null;
        errorOffset = 0;
        error = "";
        if (text.Length > MaxLength)
        {
            error = $"an expression longer than {MaxLength} characters";
            return false;
        }

        try
        {
            var p = new ExpressionParser(text);
            expr = p.ParseOr();
            p.SkipSpace();
            if (p._pos < text.Length)
            {
                throw new ParseException(p._pos, $"unexpected '{text[p._pos]}'");
            }

            return true;
        }
        catch (ParseException ex)
        {
            errorOffset = ex.Offset;
            error = ex.Message;
            return false;
        }
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (TryTake("||"))
        {
            left = new BinaryExpr(left.Offset, "||", left, ParseAnd());
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseUnary();
        while (TryTake("&&"))
        {
            left = new BinaryExpr(left.Offset, "&&", left, ParseUnary());
        }

        return left;
    }

    private Expr ParseUnary()
    {
        SkipSpace();
        var at = _pos;
        if (Peek('!') && !PeekAt(1, '=') && !PeekAt(1, '~'))
        {
            _pos++;
            Enter(at);
            var operand = ParseUnary();
            _depth--;
            return new NotExpr(at, operand);
        }

        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var left = ParsePrimary();
        foreach (var op in (string[])["==", "!=", "=~", "!~"])
        {
            if (TryTake(op))
            {
                return new BinaryExpr(left.Offset, op, left, ParsePrimary());
            }
        }

        return left;
    }

    private Expr ParsePrimary()
    {
        SkipSpace();
        var at = _pos;
        if (_pos >= _text.Length)
        {
            throw new ParseException(_pos, "the expression ends too early");
        }

        var ch = _text[_pos];
        if (ch == '(')
        {
            _pos++;
            Enter(at);
            var inner = ParseOr();
            _depth--;
            Require(')');
            return inner;
        }

        if (ch is '\'' or '"')
        {
            return new LiteralExpr(at, Value.Of(ReadString(ch)));
        }

        if (char.IsAsciiDigit(ch) || (ch == '-' && PeekAt(1, c => char.IsAsciiDigit(c))))
        {
            var start = _pos++;
            while (_pos < _text.Length && (char.IsAsciiDigit(_text[_pos]) || _text[_pos] == '.'))
            {
                _pos++;
            }

            return new LiteralExpr(at, Value.Of(_text[start.._pos]));
        }

        if (char.IsAsciiLetter(ch) || ch == '_')
        {
            var name = ReadName();
            switch (name)
            {
                case "true":
                    return new LiteralExpr(at, Value.True);
                case "false":
                    return new LiteralExpr(at, Value.False);
                case "null":
                    return new LiteralExpr(at, Value.Null);
            }

            SkipSpace();
            if (Peek('(') && !name.Contains('.', StringComparison.Ordinal))
            {
                _pos++;
                Enter(at);
                var args = new List<Expr>();
                SkipSpace();
                if (!Peek(')'))
                {
                    do
                    {
                        args.Add(ParseOr());
                    }
                    while (TryTake(","));
                }

                _depth--;
                Require(')');
                return new CallExpr(at, name, args);
            }

            return new VariableExpr(at, name);
        }

        throw new ParseException(at, $"unexpected '{ch}'; expected a value, a variable or '('");
    }

    private string ReadName()
    {
        var start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '_' or '-' or '.'))
        {
            _pos++;
        }

        var name = _text[start.._pos];
        if (name.EndsWith('.') || name.Contains("..", StringComparison.Ordinal))
        {
            throw new ParseException(start, $"'{name}' is not a variable name");
        }

        return name;
    }

    private string ReadString(char quote)
    {
        var start = _pos++;
        var sb = new StringBuilder();
        while (_pos < _text.Length)
        {
            var c = _text[_pos++];
            if (c == quote)
            {
                // A doubled quote stands for one ('it''s').
                if (_pos < _text.Length && _text[_pos] == quote)
                {
                    sb.Append(quote);
                    _pos++;
                    continue;
                }

                return sb.ToString();
            }

            sb.Append(c);
        }

        throw new ParseException(start, "a string that is not closed");
    }

    private void Enter(int at)
    {
        if (++_depth > MaxDepth)
        {
            throw new ParseException(at, $"an expression nested deeper than {MaxDepth} levels");
        }
    }

    private void Require(char c)
    {
        SkipSpace();
        if (!Peek(c))
        {
            throw new ParseException(_pos, _pos < _text.Length ? $"expected '{c}', found '{_text[_pos]}'" : $"expected '{c}' before the end");
        }

        _pos++;
    }

    private bool TryTake(string token)
    {
        SkipSpace();
        if (string.CompareOrdinal(_text, _pos, token, 0, token.Length) == 0)
        {
            _pos += token.Length;
            return true;
        }

        return false;
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos]))
        {
            _pos++;
        }
    }

    private bool Peek(char c) => _pos < _text.Length && _text[_pos] == c;

    private bool PeekAt(int ahead, char c) => _pos + ahead < _text.Length && _text[_pos + ahead] == c;

    private bool PeekAt(int ahead, Func<char, bool> test) => _pos + ahead < _text.Length && test(_text[_pos + ahead]);
}
