using System.Text.RegularExpressions;
using Ci.Runner.Engine;

namespace Ci.Runner.Tests.Output;

/// <summary>What a step prints reaches a terminal with its colours and without any other control.</summary>
public sealed class TerminalTextTests
{
    [TestCase("plain text, tabs\\tkept", "plain text, tabs\\tkept")]
    [TestCase("\\x1b[1;31mred\\x1b[0m and \\x1b[38;5;200mpink\\x1b[m", "\\x1b[1;31mred\\x1b[0m and \\x1b[38;5;200mpink\\x1b[m")]
    [TestCase("\\x1b]0;pwned title\\aafter", "after")]
    [TestCase("\\x1b]8;;http://evil.example/\\x1b\\\\link\\x1b]8;;\\x1b\\\\", "link")]
    [TestCase("hidden\\r\\x1b[2Kforged", "hiddenforged")]
    [TestCase("a\\x1b[2Jb\\x1b[10;10Hc\\x1b[1Ad\\x1b[?25le", "abcde")]
    [TestCase("x\\x1bcy\\x1b7z", "xyz")]
    [TestCase("back\\x08\\x08\\x08space\\x7f", "backspace")]
    [TestCase("c1 \\u009b31m csi", "c1 31m csi")]
    [TestCase("\\x1bPq#0;2;0;0;0\\x1b\\\\sixel", "sixel")]
    [TestCase("query \\x1b[6n\\x1b[c", "query ")]
    [TestCase("unterminated \\x1b]0;title", "unterminated ")]
    [TestCase("trailing escape \\x1b", "trailing escape ")]
    [TestCase("sgr with intermediate \\x1b[1 m kept out", "sgr with intermediate  kept out")]
    public void Only_colours_survive(string printed, string shown) =>
        Assert.That(TerminalText.Neutralise(Regex.Unescape(printed)), Is.EqualTo(Regex.Unescape(shown))); // cases are written escaped: test names may not hold control characters
}
