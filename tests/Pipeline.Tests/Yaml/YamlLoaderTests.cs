using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Yaml;

namespace Ci.Pipeline.Tests.Yaml;

public sealed class YamlLoaderTests
{
    private static (YamlNode? Node, DiagnosticBag Diagnostics) Load(string text, YamlLimits? limits = null)
    {
        var bag = new DiagnosticBag();
        return (YamlLoader.Load(text, "f.yml", bag, limits), bag);
    }

    [Test]
    public void Nodes_keep_their_line_and_column()
    {
        var (node, _) = Load("jobs:\n  build:\n    steps: [make, 'make test']\n");
        var steps = (YamlSequence)((YamlMapping)((YamlMapping)((YamlMapping)node!).Find("jobs")!.Value).Find("build")!.Value).Find("steps")!.Value;

        Assert.That(steps.Position, Is.EqualTo(new SourcePosition("f.yml", 3, 12)));
        Assert.That(steps.Items[0].Position, Is.EqualTo(new SourcePosition("f.yml", 3, 13)));
        // A quoted scalar's position is its first character, after the quote.
        Assert.That(steps.Items[1].Position, Is.EqualTo(new SourcePosition("f.yml", 3, 20)));
    }

    [Test]
    public void Merge_keys_take_anchored_entries_and_explicit_keys_win()
    {
        var (node, bag) = Load("base: &b {image: debian, timeout: 5m}\njob:\n  <<: *b\n  timeout: 9m\n");
        var job = (YamlMapping)((YamlMapping)node!).Find("job")!.Value;

        Assert.That(bag.Items, Is.Empty);
        Assert.That(((YamlScalar)job.Find("image")!.Value).Value, Is.EqualTo("debian"));
        Assert.That(((YamlScalar)job.Find("timeout")!.Value).Value, Is.EqualTo("9m"));
    }

    [Test]
    public void A_list_of_merges_prefers_the_first_mapping()
    {
        var (node, _) = Load("a: &a {x: 1}\nb: &b {x: 2, y: 3}\nc:\n  <<: [*a, *b]\n");
        var c = (YamlMapping)((YamlMapping)node!).Find("c")!.Value;

        Assert.That(((YamlScalar)c.Find("x")!.Value).Value, Is.EqualTo("1"));
        Assert.That(((YamlScalar)c.Find("y")!.Value).Value, Is.EqualTo("3"));
    }

    [Test]
    public void Duplicate_keys_are_reported_with_the_first_occurrence()
    {
        var (_, bag) = Load("a: 1\nb: 2\na: 3\n");

        Assert.That(bag.Items.Single().ToString(), Is.EqualTo("f.yml(3,1): error PL0005: duplicate key 'a' (first at line 1)"));
    }

    [Test]
    public void An_alias_to_an_undefined_anchor_is_reported()
    {
        var (_, bag) = Load("a: *nope\n");

        Assert.That(bag.Items.Single().Code, Is.EqualTo(DiagnosticCodes.UnknownAnchor));
    }

    [Test]
    public void A_tab_used_as_indentation_is_reported_where_the_tab_is()
    {
        var (node, bag) = Load("jobs:\n  build:\n    steps: [a]\n    env:\n  \t  A: b\n");

        Assert.That(node, Is.Null);
        Assert.That(bag.Items.Single().ToString(), Is.EqualTo("f.yml(5,3): error PL0001: a tab is used for indentation; YAML indents with spaces only"));
    }

    [Test]
    public void A_tab_inside_a_block_scalar_is_text()
    {
        var (node, bag) = Load("run: |\n  all:\n  \tmake\n");

        Assert.That(bag.Items, Is.Empty);
        Assert.That(((YamlScalar)((YamlMapping)node!).Find("run")!.Value).Value, Is.EqualTo("all:\n\tmake\n"));
    }

    [Test]
    public void A_second_document_is_refused()
    {
        var (node, bag) = Load("a: 1\n---\nb: 2\n");

        Assert.That(node, Is.Null);
        Assert.That(bag.Items.Single().Code, Is.EqualTo(DiagnosticCodes.UnsupportedYaml));
        Assert.That(bag.Items.Single().Position.Line, Is.EqualTo(2));
    }

    [Test]
    public void On_yes_and_no_stay_strings_as_in_yaml_1_2()
    {
        var (node, _) = Load("on: push\nNO: yes\n");
        var map = (YamlMapping)node!;

        Assert.That(map.Entries.Select(e => e.Key.Value), Is.EqualTo(new[] { "on", "NO" }));
        Assert.That(((YamlScalar)map.Find("NO")!.Value).Value, Is.EqualTo("yes"));
    }

    [Test, CancelAfter(20_000)]
    public void Ten_thousand_deep_nesting_is_a_diagnostic_not_a_stack_overflow()
    {
        var text = "a: " + new string('[', 10_000) + new string(']', 10_000) + "\n";

        var (node, bag) = Load(text);

        Assert.That(node, Is.Null);
        Assert.That(bag.Items.Single().Code, Is.EqualTo(DiagnosticCodes.NestingTooDeep));
    }

    [Test, CancelAfter(20_000)]
    public void Ten_thousand_deep_block_nesting_is_a_diagnostic()
    {
        var text = string.Concat(Enumerable.Range(0, 10_000).Select(i => new string(' ', i) + "a:\n"));

        var (_, bag) = Load(text, YamlLimits.Default with { MaxFileBytes = 100_000_000 });

        Assert.That(bag.Items.Single().Code, Is.EqualTo(DiagnosticCodes.NestingTooDeep));
    }

    [Test, CancelAfter(20_000)]
    public void A_billion_laughs_document_is_refused_without_expanding_it()
    {
        var lines = new List<string> { "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]" };
        for (var i = 1; i < 10; i++)
        {
            lines.Add($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]");
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var (node, bag) = Load(string.Join("\n", lines) + "\n");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(node, Is.Null);
        Assert.That(bag.Items.Single().Code, Is.EqualTo(DiagnosticCodes.AliasExpansionTooLarge));
        Assert.That(allocated, Is.LessThan(50L * 1024 * 1024), "reading must not expand the aliases");
    }

    [Test]
    public void A_50_MB_file_is_refused_before_parsing()
    {
        var text = new string('#', 50 * 1024 * 1024);

        var (node, bag) = Load(text);

        Assert.That(node, Is.Null);
        Assert.That(bag.Items.Single().ToString(), Does.StartWith("f.yml(1,1): error PL0002: the file is 50 MiB"));
    }

    [Test]
    public void Malformed_yaml_is_a_positioned_diagnostic()
    {
        var (node, bag) = Load("a: [1,\nb: 2\n  c");

        Assert.That(node, Is.Null);
        var d = bag.Items.Single();
        Assert.That(d.Code, Is.EqualTo(DiagnosticCodes.YamlSyntax));
        Assert.That(d.Position.Line, Is.GreaterThanOrEqualTo(1));
    }
}
