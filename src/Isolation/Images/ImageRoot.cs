using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>
/// What a container needs of an image to stand on it: its layer directories (top first), the
/// read-only bind mounts it brings (the built-in image's host directories), and its config.
/// One conversion for <c>runner run</c> and the container backend alike.
/// </summary>
public sealed record ImageRoot(IReadOnlyList<string> Layers, IReadOnlyList<BindMount> Mounts, ImageConfig Config)
{
    /// <summary>An image of the store; throws <see cref="IsolationException"/> when one of its layers is missing.</summary>
    public static ImageRoot Of(ImageStore store, Image image) => new(store.LayerPaths(image), [], image.Config);

    /// <summary>The built-in image: the runner's skeleton layer and the host's system directories, read-only.</summary>
    public static ImageRoot Of(HostImage host) => new([host.Skeleton], host.Mounts, host.Config);
}
