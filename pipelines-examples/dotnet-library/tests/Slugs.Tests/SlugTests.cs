using NUnit.Framework;

namespace Slugs.Tests;

public class SlugTests
{
    [TestCase("Hello, World!", "hello-world")]
    [TestCase("  many   spaces ", "many-spaces")]
    [TestCase("Crème brûlée", "creme-brulee")]
    public void Slug_is_lower_case_words_joined_by_dashes(string input, string expected) =>
        Assert.That(Slug.From(input), Is.EqualTo(expected));
}
