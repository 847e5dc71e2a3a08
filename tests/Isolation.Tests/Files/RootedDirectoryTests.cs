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

    [Test]
    public void A_walk_from_a_kept_directory_still_refuses_a_link_below_it()
    {
        var host = Directory.CreateDirectory(Path.Combine(_dir, "host")).FullName;
        using var tree = RootedDirectory.Open(Path.Combine(_dir, "tree"), create: true, keepDirectoriesOpen: true);
        tree.CreateFile("a/x").Dispose(); // "a" is kept from here on
        tree.CreateSymbolicLink("a/b", host);

        Assert.Throws<UnsafePathException>(() => tree.CreateFile("a/b/planted").Dispose());
        Assert.Throws<UnsafePathException>(() => tree.CreateDirectory("a/b/c/d"));
        Assert.That(Directory.GetFileSystemEntries(host), Is.Empty, "nothing written where the link points");
    }

    [Test]
    public void A_kept_directory_lent_out_stays_open_while_the_tree_forgets_its_directories()
    {
        using var tree = RootedDirectory.Open(Path.Combine(_dir, "tree"), create: true, keepDirectoriesOpen: true);
        tree.CreateFile("d/x").Dispose();
        tree.CreateDirectory("gone");

        using var lent = tree.OpenDirectory(["d"], "d", create: false)!;
        tree.Remove("gone"); // removing a directory forgets every kept one, this one included

        Assert.That(Native.Libc.Fstatat(lent.Fd, "x", out _), Is.Not.Null, "the lent descriptor is still d's");
        lent.Dispose();
        tree.CreateFile("d/y").Dispose(); // d is walked to again
        Assert.That(Directory.GetFiles(Path.Combine(_dir, "tree", "d")).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "x", "y" }));
    }

    [Test]
    public void WriteFile_replaces_a_link_in_its_place_and_gives_the_file_its_bytes_and_metadata()
    {
        var secret = Path.Combine(_dir, "secret");
        File.WriteAllText(secret, "host");
        using var tree = RootedDirectory.Open(Path.Combine(_dir, "tree"), create: true, keepDirectoriesOpen: true);
        tree.CreateSymbolicLink("etc/passwd", secret);
        var time = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);

        tree.WriteFile("etc/passwd", new MemoryStream("layer"u8.ToArray()), new EntryMetadata(12, 34, (UnixFileMode)0b110_100_000 | UnixFileMode.SetUser, time), replace: true);

        Assert.That(File.ReadAllText(secret), Is.EqualTo("host"), "the link's target is untouched");
        var written = Path.Combine(_dir, "tree", "etc", "passwd");
        Assert.That(File.ResolveLinkTarget(written, returnFinalTarget: false), Is.Null, "a regular file now");
        Assert.That(File.ReadAllText(written), Is.EqualTo("layer"));
        Assert.That(tree.Stat("etc/passwd"), Is.Not.Null);
        var stat = Native.Libc.Fstatat(Native.Libc.AtFdcwd, written, out _)!.Value;
        Assert.That((stat.Uid, stat.Gid), Is.EqualTo((12u, 34u)));
        Assert.That(File.GetUnixFileMode(written), Is.EqualTo((UnixFileMode)0b110_100_000 | UnixFileMode.SetUser), "setuid survives the chown");
        Assert.That(File.GetLastWriteTimeUtc(written), Is.EqualTo(time));
    }
}
