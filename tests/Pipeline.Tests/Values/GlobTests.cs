using Ci.Pipeline.Values;

namespace Ci.Pipeline.Tests.Values;

public sealed class GlobTests
{
    [TestCase("release/*", "release/1.0", true)]
    [TestCase("release/*", "release/1.0/hotfix", false)]
    [TestCase("release/**", "release/1.0/hotfix", true)]
    [TestCase("**/*.csproj", "src/A/A.csproj", true)]
    [TestCase("**/*.csproj", "A.csproj", true)]
    [TestCase("src/**", "src/a/b.c", true)]
    [TestCase("v[0-9]*", "v1.2", true)]
    [TestCase("v[0-9]*", "vx", false)]
    [TestCase("feature-?", "feature-a", true)]
    public void Patterns_match_as_in_gitignore(string pattern, string input, bool matches) =>
        Assert.That(Glob.IsMatch(pattern, input), Is.EqualTo(matches));

    [Test]
    public void In_a_list_the_last_matching_pattern_decides()
    {
        string[] patterns = ["release/**", "!release/old/**"];

        Assert.That(Glob.MatchesList(patterns, "release/1.0"), Is.True);
        Assert.That(Glob.MatchesList(patterns, "release/old/1"), Is.False);
        Assert.That(Glob.MatchesList(patterns, "main"), Is.False);
        Assert.That(Glob.MatchesList(["!docs/**"], "src/a.c"), Is.True, "a list of only exclusions starts from everything");
    }

    [Test]
    public void A_reversed_range_is_reported_and_never_throws()
    {
        Assert.That(Glob.Validate("file[z-a].txt"), Does.Contain("cannot be used"));
        Assert.That(Glob.IsMatch("file[z-a].txt", "file[z-a].txt"), Is.True, "an unusable pattern matches only itself");
    }
}
