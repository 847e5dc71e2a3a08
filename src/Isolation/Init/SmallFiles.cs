using System.Text;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// Whole small files (the spec, /proc files, a sysctl), read and written with open, read or write, and close. Not File's
/// text methods: their stream readers and writers (buffering, byte-order-mark detection in three encodings) were code in
/// runner-init's binary, whose pages are most of its memory. Failures are <see cref="InitException"/>s naming the file.
/// </summary>
internal static unsafe class SmallFiles
{
    private const int ORdonly = 0;

    public static byte[] ReadAll(string path)
    {
        var fd = open(path, ORdonly | OCloexec, 0);
        InitException.Check(fd, $"open({path})");
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

                nint n;
                fixed (byte* b = buffer)
                {
                    n = read(fd, b + length, buffer.Length - length);
                }

                if (n < 0 && Errno == Eintr)
                {
                    continue;
                }

                if (n < 0)
                {
                    throw new InitException($"read({path})", Errno);
                }

                if (n == 0)
                {
                    Array.Resize(ref buffer, length);
                    return buffer;
                }

                length += (int)n;
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    public static string ReadText(string path) => Encoding.UTF8.GetString(ReadAll(path));

    /// <summary>Writes <paramref name="text"/> (created 0644, truncated).</summary>
    public static void WriteText(string path, string text)
    {
        var fd = open(path, OWronly | OCreat | OTrunc | OCloexec, 0x1a4);
        InitException.Check(fd, $"open({path})");
        try
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var done = 0;
            while (done < bytes.Length)
            {
                nint n;
                fixed (byte* b = bytes)
                {
                    n = write(fd, b + done, bytes.Length - done);
                }

                if (n < 0 && Errno == Eintr)
                {
                    continue;
                }

                if (n < 0)
                {
                    throw new InitException($"write({path})", Errno);
                }

                done += (int)n;
            }
        }
        finally
        {
            _ = close(fd);
        }
    }
}
