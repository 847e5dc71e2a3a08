using System.Reflection;
using System.Security.Cryptography;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Files;

/// <summary>
/// Files the runner carries inside itself (runner-init, the native libraries), so that the
/// published <c>runner</c> is the one file to copy. Each is embedded as the resource
/// <c>embedded/NAME@SHA256</c> (the build names the digest) and unpacked once, on first use, into
/// <c>DIR/native/DIGEST/NAME</c> of a directory of the runner's own (the state directory, root's
/// alone): written under a temporary name, checked against its digest, then renamed into place,
/// so a file under its final name is whole. Later uses find it there and check its kind, owner,
/// mode and size, not its digest (that would load OpenSSL at every start).
/// </summary>
public static class EmbeddedFiles
{
    private const string Prefix = "embedded/";

    /// <summary>The path of <paramref name="name"/> unpacked under <paramref name="directory"/>, unpacked now if it is not there whole.</summary>
    /// <exception cref="IsolationException">The assembly carries no such file, or its bytes do not match their digest.</exception>
    public static string Unpack(Assembly assembly, string name, string directory)
    {
        var resource = assembly.GetManifestResourceNames().FirstOrDefault(r => r.StartsWith($"{Prefix}{name}@", StringComparison.Ordinal))
            ?? throw new IsolationException($"{name} is not embedded in {assembly.GetName().Name}; it is built with src/Isolation and src/Runner");
        var digest = resource[(resource.IndexOf('@') + 1)..].ToLowerInvariant();
        var dir = Path.Combine(directory, "native", digest[..16]);
        var path = Path.Combine(dir, name);
        using var content = assembly.GetManifestResourceStream(resource)!;
        if (IsWhole(path, content.Length))
        {
            return path;
        }

        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(Path.Combine(directory, "native"), OwnerOnly);
        Directory.CreateDirectory(dir, OwnerOnly);
        Images.StoreDirectory.RemoveAbandoned(dir); // what a runner killed while it wrote here left
        var temporary = Images.StoreDirectory.TemporaryName(path);
        try
        {
            using (var file = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnly,
            }))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[81920];
                int n;
                while ((n = content.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    file.Write(buffer, 0, n);
                }

                var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (actual != digest)
                {
                    throw new IsolationException($"the {name} embedded in {assembly.GetName().Name} is damaged: its sha256 is {actual}, not {digest}");
                }

                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return path;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>A regular file (not a link), ours, writable by no one else, of the size it must have: one lstat(2).</summary>
    private static bool IsWhole(string path, long length)
    {
        const uint GroupOrOtherWrite = 0x12;
        return Native.Libc.Fstatat(Native.Libc.AtFdcwd, path, out _) is { IsRegular: true } stat
            && stat.Size == length && (stat.Mode & GroupOrOtherWrite) == 0 && stat.Uid == Tmds.Linux.LibC.geteuid();
    }
}
