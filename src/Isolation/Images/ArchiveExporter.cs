using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Images;

/// <summary>
/// Writes an image as one archive that both <c>docker load</c> (manifest.json) and OCI tools
/// (index.json, oci-layout) read, as Docker 25 and later save them: the image's own blobs, its
/// config, and an OCI manifest.
/// </summary>
public static class ArchiveExporter
{
    public static void Export(Image image, ImageStore store, string path)
    {
        if (image.ConfigBlob is null || image.LayerBlobs is null)
        {
            throw new IsolationException($"{image.Name} was recorded without its blobs; pull or import it again to export it");
        }

        static JsonObject Descriptor(BlobRef b) => new() { ["mediaType"] = b.MediaType, ["digest"] = b.Digest, ["size"] = b.Size };
        static string BlobPath(string digest) => "blobs/sha256/" + Digest.Parse(digest).Hex;
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciConfig.ManifestType,
            ["config"] = Descriptor(image.ConfigBlob),
            ["layers"] = new JsonArray(image.LayerBlobs.Select(b => (JsonNode)Descriptor(b)).ToArray()),
        }.ToJsonString());
        var manifestDigest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifest));
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = OciConfig.ManifestType,
                ["digest"] = manifestDigest,
                ["size"] = manifest.Length,
                ["annotations"] = new JsonObject { ["io.containerd.image.name"] = image.Name, ["org.opencontainers.image.ref.name"] = image.Name },
            }),
        };
        var docker = new JsonArray(new JsonObject
        {
            ["Config"] = BlobPath(image.ConfigBlob.Digest),
            ["RepoTags"] = new JsonArray(image.Name),
            ["Layers"] = new JsonArray(image.LayerBlobs.Select(b => (JsonNode)BlobPath(b.Digest)).ToArray()),
        });

        var temp = path + ".tmp";
        using (var file = File.Create(temp))
        using (var writer = new TarWriter(file, TarEntryFormat.Pax))
        {
            void Bytes(string name, byte[] content) =>
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0b110_100_100 });
            Bytes("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray());
            Bytes("index.json", Encoding.UTF8.GetBytes(index.ToJsonString()));
            Bytes("manifest.json", Encoding.UTF8.GetBytes(docker.ToJsonString()));
            Bytes(BlobPath(manifestDigest), manifest);
            foreach (var blob in image.LayerBlobs.Append(image.ConfigBlob).DistinctBy(b => b.Digest))
            {
                var source = store.Blobs.PathOf(Digest.Parse(blob.Digest));
                if (!File.Exists(source))
                {
                    throw new IsolationException($"{image.Name}: blob {blob.Digest} is missing from the blob store; pull or import the image again");
                }

                writer.WriteEntry(source, BlobPath(blob.Digest));
            }
        }

        File.Move(temp, path, overwrite: true);
    }
}
