using System.Text;

namespace Ci.Isolation.Init;

/// <summary>
/// The JSON runner-init needs and no more: a reader of one document into dictionaries, lists, strings, integers, booleans
/// and nulls, and the string escaping of the result it writes. Not System.Text.Json: JsonDocument and Utf8JsonWriter
/// brought a third of runner-init's binary, and the binary's pages are most of its memory (ADR 0002). Strict: what the
/// runtime's serializer does not write (a fraction, a duplicate key, a trailing comma, a bare word) is refused, with where.
/// </summary>
internal static class WireJson
{
    private const int MaxDepth = 32;
    private const string Hex = "0123456789abcdef";

    /// <summary>The document's value; throws <see cref="InvalidDataException"/> naming the byte where it is not JSON.</summary>
    public static object? Parse(ReadOnlySpan<byte> json) => new Reader(json).Document();

    /// <summary>Appends <paramref name="value"/> as a JSON string (or null): quotes, backslashes and control characters escaped.</summary>
    public static void AppendString(StringBuilder json, string? value)
    {
        if (value is null)
        {
            json.Append("null");
            return;
        }

        json.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    json.Append("\\\"");
                    break;
                case '\\':
                    json.Append("\\\\");
                    break;
                case '\n':
                    json.Append("\\n");
                    break;
                case < ' ':
                    json.Append("\\u00").Append(Hex[c >> 4]).Append(Hex[c & 0xf]);
                    break;
                default:
                    json.Append(c);
                    break;
            }
        }

        json.Append('"');
    }

    private ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _text;
        private int _at;

        public Reader(ReadOnlySpan<byte> text) => _text = text;

        public object? Document()
        {
            var value = Value(0);
            SkipSpace();
            return _at == _text.Length ? value : throw Error("text after the document");
        }

        private object? Value(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error($"nested deeper than {MaxDepth}");
            }

            SkipSpace();
            return Peek() switch
            {
                (byte)'{' => Object(depth),
                (byte)'[' => Array(depth),
                (byte)'"' => String(),
                (byte)'t' => Literal("true", true),
                (byte)'f' => Literal("false", false),
                (byte)'n' => Literal("null", null),
                (byte)'-' or (>= (byte)'0' and <= (byte)'9') => Integer(),
                _ => throw Error("expected a value"),
            };
        }

        private Dictionary<string, object?> Object(int depth)
        {
            var members = new Dictionary<string, object?>(StringComparer.Ordinal);
            _at++;
            SkipSpace();
            if (Peek() == '}')
            {
                _at++;
                return members;
            }

            while (true)
            {
                SkipSpace();
                if (Peek() != '"')
                {
                    throw Error("expected a member's name");
                }

                var name = String();
                SkipSpace();
                Expect(':');
                if (!members.TryAdd(name, Value(depth + 1)))
                {
                    throw Error($"'{name}' twice");
                }

                SkipSpace();
                if (Next() == '}')
                {
                    return members;
                }

                _at--;
                Expect(',');
            }
        }

        private List<object?> Array(int depth)
        {
            var items = new List<object?>();
            _at++;
            SkipSpace();
            if (Peek() == ']')
            {
                _at++;
                return items;
            }

            while (true)
            {
                items.Add(Value(depth + 1));
                SkipSpace();
                if (Next() == ']')
                {
                    return items;
                }

                _at--;
                Expect(',');
            }
        }

        private string String()
        {
            _at++; // the opening quote
            StringBuilder? escaped = null;
            var start = _at;
            while (true)
            {
                var b = Next();
                if (b == '"')
                {
                    var tail = Encoding.UTF8.GetString(_text[start..(_at - 1)]);
                    return escaped is null ? tail : escaped.Append(tail).ToString();
                }

                if (b < ' ')
                {
                    throw Error("a control character in a string");
                }

                if (b != '\\')
                {
                    continue;
                }

                // Escapes are ASCII, so the text before one never ends inside a UTF-8 sequence.
                escaped ??= new StringBuilder();
                escaped.Append(Encoding.UTF8.GetString(_text[start..(_at - 1)]));
                escaped.Append(Next() switch
                {
                    (byte)'"' => '"',
                    (byte)'\\' => '\\',
                    (byte)'/' => '/',
                    (byte)'b' => '\b',
                    (byte)'f' => '\f',
                    (byte)'n' => '\n',
                    (byte)'r' => '\r',
                    (byte)'t' => '\t',
                    (byte)'u' => Utf16Unit(),
                    _ => throw Error("an unknown escape"),
                });
                start = _at;
            }
        }

        /// <summary>The four hex digits after \u: one UTF-16 unit (a surrogate pair comes as two escapes, appended in turn).</summary>
        private char Utf16Unit()
        {
            var unit = 0;
            for (var i = 0; i < 4; i++)
            {
                var digit = Next() switch
                {
                    var d and >= (byte)'0' and <= (byte)'9' => d - '0',
                    var d and >= (byte)'a' and <= (byte)'f' => d - 'a' + 10,
                    var d and >= (byte)'A' and <= (byte)'F' => d - 'A' + 10,
                    _ => throw Error("\\u without four hex digits", _at - 1),
                };
                unit = (unit << 4) | digit;
            }

            return (char)unit;
        }

        /// <summary>An integer (by hand: the runtime's generic parsing of UTF-8 numbers is large code for a few digits).</summary>
        private long Integer()
        {
            var start = _at;
            var negative = Peek() == '-';
            if (negative)
            {
                _at++;
            }

            ulong magnitude = 0;
            var digits = 0;
            while (_at < _text.Length && _text[_at] is >= (byte)'0' and <= (byte)'9')
            {
                magnitude = (magnitude * 10) + (ulong)(_text[_at++] - '0');
                if (++digits > 18)
                {
                    throw Error("an integer out of range", start);
                }
            }

            if (digits == 0 || (_at < _text.Length && _text[_at] is (byte)'.' or (byte)'e' or (byte)'E'))
            {
                throw Error("not an integer", start);
            }

            return negative ? -(long)magnitude : (long)magnitude;
        }

        private object? Literal(string word, object? value)
        {
            foreach (var c in word)
            {
                if (Next() != c)
                {
                    throw Error($"expected {word}", _at - 1);
                }
            }

            return value;
        }

        private void Expect(char c)
        {
            if (Next() != c)
            {
                throw Error($"expected '{c}'", _at - 1);
            }
        }

        private readonly byte Peek() => _at < _text.Length ? _text[_at] : throw Error("unexpected end");

        private byte Next()
        {
            var b = Peek();
            _at++;
            return b;
        }

        private void SkipSpace()
        {
            while (_at < _text.Length && _text[_at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                _at++;
            }
        }

        private readonly InvalidDataException Error(string what, int? at = null) => new($"not the JSON expected at byte {at ?? _at}: {what}");
    }
}
