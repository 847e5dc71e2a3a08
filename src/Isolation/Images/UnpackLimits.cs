namespace Ci.Isolation.Images;

/// <summary>
/// What one layer may unpack to: a small compressed layer can expand to fill the disk (a 23 MB
/// gzip of zeros is 5 GiB). Past a limit the layer is refused with a message that names it, and
/// nothing of it is kept.
/// </summary>
public sealed record UnpackLimits
{
    public const string MaxBytesVariable = "RUNNER_LAYER_LIMIT";

    /// <summary>The bytes of file content in one layer (default 16 GiB).</summary>
    public long MaxBytes { get; init; } = 16L << 30;

    /// <summary>The entries (files, directories, links) in one layer (default 2 million).</summary>
    public long MaxEntries { get; init; } = 2_000_000;

    public static UnpackLimits Default { get; } = new();
}
