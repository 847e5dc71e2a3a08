using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CliWrap;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Images;

/// <summary>The test image the image tests share, and how to run an image from the store.</summary>
internal static class TestImages
{
    /// <summary>What the test image's default command prints.</summary>
    public static readonly string[] ExpectedOutput = ["hi from /data", "hello from the top layer", "ls-deleted"];

    /// <summary>An OCI layout written by hand: the busybox root (gzip) and a layer that adds /data/hello and deletes /bin/ls.</summary>
    public static async Task<string> WriteOciLayoutAsync(ContainerHost host, string dir)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256")).FullName;
        string Put(byte[] bytes)
        {
            var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
            return "sha256:" + hex;
        }

        var rootTar = Path.Combine(host.Directory, "oci-root.tar");
        await Cli.Wrap("tar").WithArguments(["-C", host.Rootfs, "-cf", rootTar, "."]).ExecuteAsync();
        var rootBytes = await File.ReadAllBytesAsync(rootTar);
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(rootBytes);
        }

        var topBytes = await File.ReadAllBytesAsync(new LayerTar().Dir("data/").File("data/hello", "hello from the top layer\n").Whiteout("bin/ls").WriteTo(Path.Combine(host.Directory, "oci-top.tar")));
        var layers = new JsonArray(
            new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = Put(gz.ToArray()), ["size"] = gz.Length },
            new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar", ["digest"] = Put(topBytes), ["size"] = topBytes.Length });
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/bin", "GREETING=hi"),
                ["Cmd"] = new JsonArray("/bin/sh", "-c", "echo $GREETING from $(pwd); cat hello; ls /bin/ls 2>/dev/null || echo ls-deleted"),
                ["WorkingDir"] = "/data",
            },
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray("sha256:" + Convert.ToHexStringLower(SHA256.HashData(rootBytes)), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(topBytes))),
            },
        }.ToJsonString());
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Put(config), ["size"] = config.Length },
            ["layers"] = layers,
        }.ToJsonString());
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = Put(manifest),
                ["size"] = manifest.Length,
                ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = "v1" },
            }),
        };
        await File.WriteAllTextAsync(Path.Combine(dir, "index.json"), index.ToJsonString());
        await File.WriteAllTextAsync(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        return dir;
    }

    public static Task<Run> RunAsync(ContainerHost host, ImageStore store, Image image, CancellationToken ct) =>
        host.RunAsync(host.Spec([.. image.Config.Cmd!]) with
        {
            Layers = store.LayerPaths(image),
            Env = image.Config.Env.Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p[1]),
            WorkingDirectory = image.Config.WorkingDir ?? "/",
        }, ct);
}
