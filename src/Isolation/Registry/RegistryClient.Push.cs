using System.Net;
using System.Net.Http.Headers;
using Ci.Isolation.Images;

namespace Ci.Isolation.Registry;

public sealed partial class RegistryClient
{
    /// <summary>Blobs larger than this are uploaded in chunks of this size (PATCH with Content-Range), smaller ones in one PUT.</summary>
    public const long ChunkSize = 8 * 1024 * 1024;

    private static string PushScope(ImageReference image) => $"repository:{image.Repository}:pull,push";

    public async Task<bool> BlobExistsAsync(ImageReference image, Digest digest, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(image, () => new HttpRequestMessage(HttpMethod.Head, Url(image, $"blobs/{digest}")), cancellationToken,
            PushScope(image), acceptNotFound: true);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>
    /// Uploads a blob unless the registry has it: a cross-repository mount first when a source
    /// repository on the same registry is known, then one PUT for small blobs, chunks for large ones.
    /// Returns how it got there: "exists", "mounted" or "uploaded".
    /// </summary>
    public async Task<string> PushBlobAsync(ImageReference image, Digest digest, string file, string? mountFrom = null, CancellationToken cancellationToken = default)
    {
        if (await BlobExistsAsync(image, digest, cancellationToken))
        {
            return "exists";
        }

        var query = mountFrom is null ? "" : $"?mount={digest}&from={Uri.EscapeDataString(mountFrom)}";
        var scope = PushScope(image) + (mountFrom is null ? "" : $" repository:{mountFrom}:pull");
        Uri location;
        using (var start = await SendAsync(image, () => new HttpRequestMessage(HttpMethod.Post, Url(image, "blobs/uploads/" + query)) { Content = new ByteArrayContent([]) },
            cancellationToken, scope))
        {
            if (start.StatusCode == HttpStatusCode.Created)
            {
                return "mounted";
            }

            location = Resolve(image, start.Headers.Location ?? throw new RegistryException($"{image.Registry}: an upload started without a Location"));
        }

        var length = new FileInfo(file).Length;
        if (length > ChunkSize)
        {
            for (long offset = 0; offset < length; offset += ChunkSize)
            {
                var size = Math.Min(ChunkSize, length - offset);
                var chunk = new byte[size];
                await using (var stream = File.OpenRead(file))
                {
                    stream.Position = offset;
                    await stream.ReadExactlyAsync(chunk, cancellationToken);
                }

                var at = location;
                using var patch = await SendAsync(image, () =>
                {
                    var content = new ByteArrayContent(chunk);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + size - 1}");
                    return new HttpRequestMessage(HttpMethod.Patch, at) { Content = content };
                }, cancellationToken, PushScope(image));
                location = Resolve(image, patch.Headers.Location ?? at);
            }

            using var close = await SendAsync(image, () => new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = new ByteArrayContent([]) },
                cancellationToken, PushScope(image));
            return "uploaded";
        }

        var bytes = await File.ReadAllBytesAsync(file, cancellationToken);
        using var put = await SendAsync(image, () =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = content };
        }, cancellationToken, PushScope(image));
        return "uploaded";
    }

    /// <summary>Puts a manifest under a tag; blobs must be there first.</summary>
    public async Task PushManifestAsync(ImageReference image, byte[] manifest, string mediaType, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(image, () =>
        {
            var content = new ByteArrayContent(manifest);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, Url(image, $"manifests/{image.Tag ?? "latest"}")) { Content = content };
        }, cancellationToken, PushScope(image));
    }

    private Uri Resolve(ImageReference image, Uri location) => location.IsAbsoluteUri ? location : new Uri(Url(image, ""), location);

    private static Uri WithDigest(Uri location, Digest digest) =>
        new(location + (location.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest.ToString()));
}
