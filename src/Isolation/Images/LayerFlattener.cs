using CliWrap;
using CliWrap.Buffered;

namespace Ci.Isolation.Images;

/// <summary>
/// Merges a stack of layer directories (whiteouts, opaque directories and all) into one, as a
/// container would see it: through the kernel's overlay, mounted read-only in a private mount
/// namespace that ends with the copy, so nothing is mounted on the host even for a moment. Owners,
/// modes, links and empty directories are kept (<c>cp -a</c>). Mounting is Isolation's; the
/// runner's directory caches call this when a cache has too many layers to stack.
/// </summary>
public static class LayerFlattener
{
    public static async Task FlattenAsync(IReadOnlyList<string> topFirst, string target, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(target);
        var merged = Directory.CreateDirectory(target + ".merged").FullName;
        try
        {
            var result = await Cli.Wrap("unshare")
                .WithArguments(["--mount", "--propagation", "private", "sh", "-c", "mount -t overlay overlay -o \"ro,lowerdir=$1\" \"$2\" && cp -a \"$2/.\" \"$3/\"",
                    "sh", string.Join(':', topFirst), merged, target])
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cancellationToken);
            if (result.ExitCode != 0)
            {
                throw new IOException($"cannot flatten {topFirst.Count} layers: {result.StandardError.Trim()}");
            }
        }
        finally
        {
            Directory.Delete(merged);
        }
    }
}
