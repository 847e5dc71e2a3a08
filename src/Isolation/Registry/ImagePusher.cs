using System.Text.Json.Nodes;
using Ci.Isolation.Images;

namespace Ci.Isolation.Registry;

/// <summary>
/// Pushes an image from the store: each layer blob unless the registry has it (mounted from the
/// repository it came from when that is on the same registry), the config, and the manifest last,
/// so a tag never points at missing blobs.
/// </summary>
public sealed class ImagePusher(RegistryClient client, ImageStore store)
{
    public async Task<Digest> PushAsync(Image image, ImageReference destination, Action<PullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (image.ConfigBlob is null || image.LayerBlobs is null)
        {
            throw new RegistryException($"{image.Name} was recorded without its blobs; pull or import it again to push it");
        }

        string? mountFrom = null;
        if (image.Origin is { } origin && origin.StartsWith(destination.Registry + "/", StringComparison.Ordinal)
            && origin[(destination.Registry.Length + 1)..] is var repository && repository != destination.Repository)
        {
            mountFrom = repository;
        }

        foreach (var blob in image.LayerBlobs.Append(image.ConfigBlob))
        {
            var digest = Digest.Parse(blob.Digest);
            var file = store.Blobs.PathOf(digest);
            if (!File.Exists(file))
            {
                throw new RegistryException($"{image.Name}: blob {digest} is missing from the blob store; pull or import the image again");
            }

            var how = await client.PushBlobAsync(destination, digest, file, mountFrom, cancellationToken);
            progress?.Invoke(new PullProgress(digest.Short, how, blob.Size));
        }

        static JsonObject Descriptor(BlobRef b) => new() { ["mediaType"] = b.MediaType, ["digest"] = b.Digest, ["size"] = b.Size };
        var manifest = System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciConfig.ManifestType,
            ["config"] = Descriptor(image.ConfigBlob),
            ["layers"] = new JsonArray(image.LayerBlobs.Select(b => (JsonNode)Descriptor(b)).ToArray()),
        }.ToJsonString());
        await client.PushManifestAsync(destination, manifest, OciConfig.ManifestType, cancellationToken);
        return new Digest(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifest)));
    }
}
