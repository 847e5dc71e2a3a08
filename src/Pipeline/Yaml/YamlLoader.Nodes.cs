using Ci.Pipeline.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ci.Pipeline.Yaml;

public sealed partial class YamlLoader
{
    private const string MergeKey = "<<";

    /// <summary>Reads the node that starts at the next event. Depth is checked before descending, so recursion is bounded.</summary>
    private YamlNode ReadNode(int depth)
    {
        var ev = Next();
        switch (ev)
        {
            case AnchorAlias alias:
                return ResolveAlias(alias);
            case Scalar scalar:
                CheckTag(scalar.Tag, scalar.Start);
                return Register(scalar.Anchor, new YamlScalar(ContentPosition(scalar), scalar.Value, scalar.Style == ScalarStyle.Plain));
            case SequenceStart seq:
                CheckDepth(depth + 1, seq.Start);
                CheckTag(seq.Tag, seq.Start);
                return Register(seq.Anchor, ReadSequence(seq, depth + 1));
            case MappingStart map:
                CheckDepth(depth + 1, map.Start);
                CheckTag(map.Tag, map.Start);
                return Register(map.Anchor, ReadMapping(map, depth + 1));
            default:
                Fatal(ev.Start, DiagnosticCodes.YamlSyntax, $"unexpected {Describe(ev)}");
                return null!;
        }
    }

    /// <summary>
    /// Where a scalar's text begins, so that a column inside it (an interpolation error) maps to
    /// the source: after the opening quote, or at the first content line of a block scalar.
    /// </summary>
    private SourcePosition ContentPosition(Scalar scalar)
    {
        var start = ToPosition(scalar.Start);
        switch (scalar.Style)
        {
            case ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted:
                return start.Advance(1);
            case ScalarStyle.Literal or ScalarStyle.Folded:
                var lineIndex = start.Line; // 0-based index of the line after the indicator
                if (LineAt(lineIndex) is { } line)
                {
                    return start with { Line = start.Line + 1, Column = line.Length - line.TrimStart(' ').Length + 1 };
                }

                return start;
            default:
                return start;
        }
    }

    private string? LineAt(int index)
    {
        _lines ??= _text.Split('\n');
        return index < _lines.Length ? _lines[index] : null;
    }

    private YamlSequence ReadSequence(SequenceStart start, int depth)
    {
        var items = new List<YamlNode>();
        long weight = 1;
        while (true)
        {
            if (PeekIs<SequenceEnd>())
            {
                Next();
                return new YamlSequence(ToPosition(start.Start), items, weight);
            }

            var item = ReadNode(depth);
            items.Add(item);
            weight = AddWeight(weight, item.Weight, item.Position);
        }
    }

    private YamlMapping ReadMapping(MappingStart start, int depth)
    {
        var explicitEntries = new List<YamlEntry>();
        var seen = new Dictionary<string, YamlScalar>(StringComparer.Ordinal);
        var merged = new List<YamlEntry>();
        long weight = 1;
        while (true)
        {
            if (PeekIs<MappingEnd>())
            {
                Next();
                break;
            }

            var keyNode = ReadNode(depth);
            var value = ReadNode(depth);
            if (keyNode is not YamlScalar key)
            {
                _diagnostics.Error(keyNode.Position, DiagnosticCodes.UnsupportedYaml,
                    $"a {keyNode.KindName} used as a key; keys must be plain names");
                continue;
            }

            if (key.IsPlain && key.Value == MergeKey)
            {
                CollectMerge(value, merged);
                continue;
            }

            if (seen.TryGetValue(key.Value, out var first))
            {
                _diagnostics.Error(key.Position, DiagnosticCodes.DuplicateKey,
                    $"duplicate key '{key.Value}' (first at line {first.Position.Line})");
                continue;
            }

            seen.Add(key.Value, key);
            explicitEntries.Add(new YamlEntry(key, value));
            weight = AddWeight(weight, 1 + value.Weight, key.Position);
        }

        // Merge keys: explicit keys win, and among merged mappings the first one listed wins (YAML merge spec).
        foreach (var entry in merged)
        {
            if (seen.TryAdd(entry.Key.Value, entry.Key))
            {
                explicitEntries.Add(entry);
                weight = AddWeight(weight, 1 + entry.Value.Weight, entry.Key.Position);
            }
        }

        return new YamlMapping(ToPosition(start.Start), explicitEntries, weight);
    }

    private void CollectMerge(YamlNode value, List<YamlEntry> into)
    {
        switch (value)
        {
            case YamlMapping mapping:
                into.AddRange(mapping.Entries);
                break;
            case YamlSequence sequence:
                foreach (var item in sequence.Items)
                {
                    if (item is YamlMapping m)
                    {
                        into.AddRange(m.Entries);
                    }
                    else
                    {
                        _diagnostics.Error(item.Position, DiagnosticCodes.WrongType,
                            $"'<<' merges mappings; this item is a {item.KindName}");
                    }
                }

                break;
            default:
                _diagnostics.Error(value.Position, DiagnosticCodes.WrongType,
                    $"'<<' merges a mapping or a list of mappings; got a {value.KindName}");
                break;
        }
    }

    private YamlNode ResolveAlias(AnchorAlias alias)
    {
        _usedAliases = true;
        if (_anchors.TryGetValue(alias.Value.Value, out var node))
        {
            return node;
        }

        _diagnostics.Error(ToPosition(alias.Start), DiagnosticCodes.UnknownAnchor,
            $"alias '*{alias.Value.Value}' refers to no anchor defined before it");
        return new YamlScalar(ToPosition(alias.Start), "", isPlain: true);
    }

    private YamlNode Register(AnchorName anchor, YamlNode node)
    {
        if (!anchor.IsEmpty)
        {
            _anchors[anchor.Value] = node;
        }

        return node;
    }

    private bool PeekIs<T>() where T : ParsingEvent => _parser.Current is T;

    private long AddWeight(long weight, long add, SourcePosition at)
    {
        var total = weight + add;
        if (total > _limits.MaxExpandedNodes)
        {
            var why = _usedAliases
                ? $"aliases expand this document to more than {_limits.MaxExpandedNodes} nodes; is it a 'billion laughs' file?"
                : $"the document has more than {_limits.MaxExpandedNodes} nodes";
            _diagnostics.Error(at, DiagnosticCodes.AliasExpansionTooLarge, why);
            throw new AbandonException();
        }

        return total;
    }

    private void CheckDepth(int depth, Mark at)
    {
        if (depth > _limits.MaxDepth)
        {
            Fatal(at, DiagnosticCodes.NestingTooDeep, $"nesting deeper than {_limits.MaxDepth} levels");
        }
    }

    private void CheckTag(TagName tag, Mark at)
    {
        if (tag.IsEmpty || tag.IsNonSpecific)
        {
            return;
        }

        var hint = tag.Value == "!reference" ? " ('!reference' is GitLab's; use anchors and '<<' merge keys)" : "";
        _diagnostics.Error(ToPosition(at), DiagnosticCodes.UnsupportedYaml, $"YAML tag '{tag.Value}' is not supported{hint}");
    }
}
