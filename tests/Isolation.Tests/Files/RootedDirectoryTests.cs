using Ci.Isolation.Files;

namespace Ci.Isolation.Tests.Files;

/// <summary>A tree that keeps the directories it walked to open must still never write through a link that replaced one of them.</summary>
public sealed class RootedDirectoryTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("rooted-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_kept_directory_replaced_by_a_link_is_walked_again_and_refused()
    {
        var host = Directory.CreateDirectory(Path.Combine(_dir, "host")).FullName;
        using var tree = RootedDirectory.Open(Path.Combine(_dir, "tree"), create: true, keepDirectoriesOpen: true);
        using (var first = tree.CreateFile("d/a"))
        {
            first.WriteByte(1);
        }

        tree.CreateSymbolicLink("d", host, replace: true);

        Assert.Throws<UnsafePathException>(() => tree.CreateFile("d/planted").Dispose());
        Assert.That(Directory.GetFileSystemEntries(host), Is.Empty, "nothing written where the link points");
    }

    [Test]
    public void A_kept_directory_moved_away_is_not_written_through_its_old_name()
    {
        using var tree = RootedDirectory.Open(Path.Combine(_dir, "tree"), create: true, keepDirectoriesOpen: true);
        using var other = RootedDirectory.Open(Path.Combine(_dir, "other"), create: true);
        tree.CreateFile("d/a").Dispose();

        tree.MoveTo("d", other, "moved");
        tree.CreateFile("d/b").Dispose();

        Assert.That(Directory.GetFiles(Path.Combine(_dir, "other", "moved")).Select(Path.GetFileName), Is.EqualTo(new[] { "a" }));
        Assert.That(File.Exists(Path.Combine(_dir, "tree", "d", "b")), Is.True, "a new d, not the one that moved");
    }
}
