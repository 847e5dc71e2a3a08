using System.Text;
using Tmds.Linux;

namespace Ci.Isolation.Native;

/// <summary>
/// Whole small files (cgroup controls, a container's spec, owner and result) in three system calls: open, read or write,
/// close. .NET's File methods make eight (fstatfs, two flocks, ftruncate and lseek besides), and a container's start and
/// end read and write about twenty such files, where a system call costs ~3 µs on a virtual machine.
/// </summary>
internal static partial class Libc
{
    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> (created 0600 and truncated when <paramref name="create"/>); 0, or the errno.</summary>
    public static int WriteSmallFile(string path, string text, bool create) => WriteSmallFile(path, Encoding.UTF8.GetBytes(text), create);

    /// <inheritdoc cref="WriteSmallFile(string, string, bool)"/>
    public static int WriteSmallFile(string path, ReadOnlySpan<byte> bytes, bool create)
    {
        var fd = openat(AtFdcwd, path, OWronly | OCloexec | (create ? OCreat | OTrunc : 0), 0x180);
        if (fd < 0)
        {
            return LastError;
        }

        var errno = WriteAll(fd, bytes) == 0 ? 0 : LastError;
        _ = close(fd);
        return errno;
    }

    /// <summary>The whole of <paramref name="path"/> as UTF-8 text; null when it cannot be read (every caller treats that as "not there").</summary>
    public static unsafe string? ReadSmallFile(string path)
    {
        var fd = openat(AtFdcwd, path, ORdonly | OCloexec, 0);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            var buffer = new byte[4096];
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                long n;
                fixed (byte* b = buffer)
                {
                    n = (long)LibC.read(fd, b + length, (size_t)(ulong)(buffer.Length - length));
                }

                if (n < 0 && LastError == Eintr)
                {
                    continue;
                }

                if (n < 0)
                {
                    return null;
                }

                if (n == 0)
                {
                    return Encoding.UTF8.GetString(buffer, 0, length);
                }

                length += (int)n;
            }
        }
        finally
        {
            _ = close(fd);
        }
    }
}
