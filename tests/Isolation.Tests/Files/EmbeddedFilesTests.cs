using System.Security.Cryptography;
using Ci.Isolation.Containers;
using Ci.Isolation.Files;

namespace Ci.Isolation.Tests.Files;

/// <summary>
/// runner-init travels inside Ci.Isolation and is unpacked into the state directory: the file
/// run is always the one built, whole, ours; nothing found in its place is trusted or followed.
/// </summary>
public sealed class EmbeddedFilesTests
{
    private static readonly System.Reflection.Assembly Isolation = typeof(ContainerRuntime).Assembly;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("embedded-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void The_unpacked_init_is_the_built_one_named_by_its_digest_and_only_its_owners()
    {
        var path = EmbeddedFiles.Unpack(Isolation, "runner-init", _dir);

        var digest = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        Assert.That(Path.GetFileName(Path.GetDirectoryName(path)), Is.EqualTo(digest[..16]), "the directory is the digest of what is in it");
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        Assert.That(File.GetUnixFileMode(Path.Combine(_dir, "native")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }), "no temporary file is left");
        Assert.That(EmbeddedFiles.Unpack(Isolation, "runner-init", _dir), Is.EqualTo(path), "found again, not written again");
    }

    [Test]
    public void A_cut_short_or_replaced_file_in_its_place_is_written_again()
    {
        var path = EmbeddedFiles.Unpack(Isolation, "runner-init", _dir);
        var whole = File.ReadAllBytes(path);

        File.WriteAllBytes(path, whole[..1000]); // a disk that filled while it was written by hand, or an old copy
        Assert.That(File.ReadAllBytes(EmbeddedFiles.Unpack(Isolation, "runner-init", _dir)), Is.EqualTo(whole));

        File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.OtherWrite); // anyone could have changed it
        Assert.That(File.GetUnixFileMode(EmbeddedFiles.Unpack(Isolation, "runner-init", _dir)) & UnixFileMode.OtherWrite, Is.EqualTo((UnixFileMode)0));
    }

    [Test]
    public void A_link_in_its_place_is_replaced_and_never_followed()
    {
        var path = EmbeddedFiles.Unpack(Isolation, "runner-init", _dir);
        var target = Path.Combine(_dir, "elsewhere");
        File.WriteAllBytes(target, File.ReadAllBytes(path)); // same size: a size check alone would take the link
        File.Delete(path);
        File.CreateSymbolicLink(path, target);
        var before = File.ReadAllBytes(target);

        var again = EmbeddedFiles.Unpack(Isolation, "runner-init", _dir);

        Assert.That(new FileInfo(again).LinkTarget, Is.Null, "a file of its own, not the link");
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(before), "the link's target was not written through");
    }

    [Test]
    public void A_file_the_assembly_does_not_carry_is_refused_by_name()
    {
        var ex = Assert.Throws<IsolationException>(() => EmbeddedFiles.Unpack(Isolation, "no-such-tool", _dir));

        Assert.That(ex!.Message, Does.Contain("no-such-tool is not embedded in Ci.Isolation"));
    }
}
