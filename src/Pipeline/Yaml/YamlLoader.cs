using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Values;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ci.Pipeline.Yaml;

/// <summary>
/// Reads one YAML document into <see cref="YamlNode"/>s through YamlDotNet's event parser, so
/// that every node keeps its position and every limit (size, depth, alias expansion) is checked
/// while reading, before any memory is spent on a hostile document. Never throws for bad input:
/// it reports a diagnostic and returns null.
/// </summary>
public sealed partial class YamlLoader
{
    private readonly string _file;
    private readonly DiagnosticBag _diagnostics;
    private readonly YamlLimits _limits;
    private readonly Dictionary<string, YamlNode> _anchors = new(StringComparer.Ordinal);
    private IScanner _scanner = null!;
    private Parser _parser = null!;
    private bool _usedAliases;
    private string _text = "";
    private string[]? _lines;

    private YamlLoader(string file, DiagnosticBag diagnostics, YamlLimits limits)
    {
        _file = file;
        _diagnostics = diagnostics;
        _limits = limits;
    }

    /// <summary>Thrown inside the loader to abandon a document after a fatal diagnostic was reported.</summary>
    private sealed class AbandonException : Exception;

    public static YamlNode? Load(string text, string file, DiagnosticBag diagnostics, YamlLimits? limits = null)
    {
        limits ??= YamlLimits.Default;
        if (text.Length > limits.MaxFileBytes)
        {
            diagnostics.Error(new SourcePosition(file, 1, 1), DiagnosticCodes.FileTooLarge,
                $"the file is {Units.FormatBytes(text.Length)}; a pipeline file may be at most {Units.FormatBytes(limits.MaxFileBytes)}");
            return null;
        }

        var loader = new YamlLoader(file, diagnostics, limits);
        return loader.Run(text);
    }

    private YamlNode? Run(string text)
    {
        _text = text;
        _scanner = new Scanner(new StringReader(text), skipComments: true);
        _parser = new Parser(_scanner);
        try
        {
            _parser.MoveNext();
            Expect<StreamStart>();
            if (_parser.Current is StreamEnd)
            {
                return new YamlScalar(new SourcePosition(_file, 1, 1), "", isPlain: true);
            }

            Expect<DocumentStart>();
            var root = ReadNode(depth: 0);
            Expect<DocumentEnd>();
            if (_parser.Current is DocumentStart second)
            {
                Fatal(second.Start, DiagnosticCodes.UnsupportedYaml,
                    "a second YAML document ('---'); a pipeline file holds exactly one document");
            }

            return root;
        }
        catch (AbandonException)
        {
            return null;
        }
        catch (YamlException ex)
        {
            if (ex.Message.Contains("tab", StringComparison.Ordinal) && TabIndentation(_scanner.CurrentPosition) is { } tab)
            {
                // YamlDotNet reports the enclosing mapping's start (often line 1); the tab is on the line its scanner stopped at.
                _diagnostics.Error(tab, DiagnosticCodes.YamlSyntax, "a tab is used for indentation; YAML indents with spaces only");
                return null;
            }

            _diagnostics.Error(ToPosition(ex.Start), DiagnosticCodes.YamlSyntax, CleanMessage(ex.Message));
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // YamlDotNet's scanner throws these for some malformed inputs instead of a YamlException.
            _diagnostics.Error(ToPosition(_scanner.CurrentPosition), DiagnosticCodes.YamlSyntax,
                "malformed YAML near here (check indentation, quotes and brackets)");
            return null;
        }
    }

    // The parser's Current is a lookahead: the next event not yet consumed.
    private T Expect<T>() where T : ParsingEvent
    {
        var ev = Next();
        if (ev is not T typed)
        {
            Fatal(ev.Start, DiagnosticCodes.YamlSyntax, $"unexpected {Describe(ev)}");
            return null!;
        }

        return typed;
    }

    private ParsingEvent Next()
    {
        var ev = _parser.Current;
        if (ev is null)
        {
            Fatal(_scanner.CurrentPosition, DiagnosticCodes.YamlSyntax, "unexpected end of file");
        }

        _parser.MoveNext();
        return ev;
    }

    private static string Describe(ParsingEvent ev) => ev switch
    {
        MappingStart => "mapping",
        SequenceStart => "list",
        Scalar s => $"value '{s.Value}'",
        DocumentStart => "document start ('---')",
        _ => ev.GetType().Name,
    };

    private SourcePosition ToPosition(Mark mark) =>
        new(_file, Math.Max(1, (int)Math.Min(int.MaxValue, mark.Line)), Math.Max(1, (int)Math.Min(int.MaxValue, mark.Column)));

    /// <summary>Where the first tab of a line's indentation is, on the line the scanner stopped at.</summary>
    private SourcePosition? TabIndentation(Mark at)
    {
        var index = (int)Math.Min(int.MaxValue, at.Line) - 1;
        if (index < 0 || LineAt(index) is not { } line)
        {
            return null;
        }

        var indentation = line.Length - line.TrimStart(' ', '\t').Length;
        var column = line.IndexOf('\t', 0, indentation);
        return column < 0 ? null : new SourcePosition(_file, index + 1, column + 1);
    }

    private static string CleanMessage(string message)
    {
        // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; the position is ours to print.
        var idx = message.LastIndexOf("): ", StringComparison.Ordinal);
        var text = idx >= 0 && message.StartsWith("(Line", StringComparison.Ordinal) ? message[(idx + 3)..] : message;
        return text.TrimEnd('.').Length == 0 ? "malformed YAML" : char.ToLowerInvariant(text[0]) + text[1..].TrimEnd('.');
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fatal(Mark at, string code, string message)
    {
        _diagnostics.Error(ToPosition(at), code, message);
        throw new AbandonException();
    }
}
