using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Containers;

/// <summary>One reading of UID[:GID] for images, Containerfiles, pipelines and runner run.</summary>
public sealed class UserIdsTests
{
    [TestCase(null, 0u, 0u)]
    [TestCase("", 0u, 0u)]
    [TestCase("1000", 1000u, 1000u)]
    [TestCase("1000:50", 1000u, 50u)]
    public void Numbers_are_read_and_a_uid_alone_is_its_own_group(string? user, uint uid, uint gid)
    {
        Assert.That(UserIds.TryParse(user, out var u, out var g), Is.True);
        Assert.That((u, g), Is.EqualTo((uid, gid)));
    }

    [TestCase("root")]
    [TestCase("1000:staff")]
    [TestCase("1:2:3")]
    [TestCase("-1")]
    [TestCase(" 1000")]
    [TestCase("1000:")]
    public void Names_and_malformed_users_are_refused(string user) => Assert.That(UserIds.TryParse(user, out _, out _), Is.False);
}
