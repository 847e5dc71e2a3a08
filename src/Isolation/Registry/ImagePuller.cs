using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using Ci.Isolation.Images;
using Serilog;

namespace Ci.Isolation.Registry;

/// <summary>Progress of a pull, one event per layer state change.</summary>
/// <summary>
/// A step of a pull or push for one blob (by its short digest): "downloading" (repeatedly, with
/// the bytes so far), "downloaded", "unpacked", "already here", or the push's states.
/// </summary>
public sealed record PullProgress(string Layer, string State, long Bytes)
{
    /// <summary>The blob's size when the manifest says it.</summary>
    public long? Total { get; init; }
}

/// <summary>
/// Pulls an image into the store: manifest (or index, choosing linux/amd64), config, then each
/// layer not already unpacked, downloaded into the blob store (verified) and unpacked once
/// (checked against the config's DiffID). Two pulls of the same layer at once, in this process
/// or another, download it once.
/// </summary>
public sealed class ImagePuller(RegistryClient client, ImageStore store, string stateDirectory, ILogger log)
{
    private readonly string _blobs = Path.Combine(stateDirectory, "b", "sha256");

    public async Task<Image> PullAsync(ImageReference reference, Action<PullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_blobs);
        var manifest = await client.GetManifestAsync(reference, reference.PinnedDigest?.ToString() ?? reference.Tag ?? "latest", cancellationToken);
        while (manifest.Body["manifests"] is JsonArray platforms)
        {
            var chosen = platforms.FirstOrDefault(m => (string?)m!["platform"]?["os"] == "linux" && (string?)m["platform"]?["architecture"] == "amd64")
                ?? throw new RegistryException($"{reference}: no linux/amd64 image in its index ({string.Join(", ", platforms.Select(m => $"{m!["platform"]?["os"]}/{m["platform"]?["architecture"]}"))})");
            manifest = await client.GetManifestAsync(reference, (string)chosen["digest"]!, cancellationToken);
        }

        var configDigest = Digest.Parse((string?)manifest.Body["config"]?["digest"] ?? throw new RegistryException($"{reference}: the manifest has no config"));
        var configPath = await FetchBlobAsync(reference, configDigest, progress, cancellationToken);
        var (diffIds, config) = OciConfig.Parse(JsonNode.Parse(await File.ReadAllTextAsync(configPath, cancellationToken))!);
        var layers = manifest.Body["layers"]?.AsArray() ?? throw new RegistryException($"{reference}: the manifest has no layers");
        if (layers.Count != diffIds.Count)
        {
            throw new RegistryException($"{reference}: the manifest has {layers.Count} layers and the config {diffIds.Count}");
        }

        // Layers download and unpack in parallel (a few at a time); each is checked twice: blob digest, then DiffID.
        using var gate = new SemaphoreSlim(3);
        await Task.WhenAll(layers.Select(async (layer, i) =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var digest = Digest.Parse((string)layer!["digest"]!);
                var total = (long?)layer["size"];
                if (store.Layers.Find(diffIds[i]) is not null)
                {
                    progress?.Invoke(new PullProgress(digest.Short, "already here", 0) { Total = total });
                    return;
                }

                if (await TryStreamLayerAsync(reference, digest, diffIds[i], progress, total, cancellationToken))
                {
                    return;
                }

                var blob = await FetchBlobAsync(reference, digest, progress, cancellationToken, total);
                await using var file = File.OpenRead(blob);
                store.Layers.Import(file, diffIds[i]);
                progress?.Invoke(new PullProgress(digest.Short, "unpacked", file.Length) { Total = total });
            }
            finally
            {
                gate.Release();
            }
        }));

        var image = new Image(reference.ToString(), diffIds.Select(d => d.ToString()).ToList(), config, DateTimeOffset.UtcNow)
        {
            ConfigBlob = new BlobRef(configDigest.ToString(), OciConfig.MediaType, new FileInfo(configPath).Length),
            LayerBlobs = layers.Select(l => new BlobRef((string)l!["digest"]!, OciMediaType((string?)l["mediaType"]), (long?)l["size"] ?? 0)).ToList(),
            Origin = $"{reference.Registry}/{reference.Repository}",
        };
        store.Save(image);
        log.Information("Pulled {Image} ({Layers} layers, manifest {Digest})", image.Name, diffIds.Count, manifest.Digest);
        return image;
    }

    private static string OciMediaType(string? mediaType) => mediaType switch
    {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => OciConfig.LayerGzip,
        null or "application/vnd.docker.image.rootfs.diff.tar" => OciConfig.LayerTar,
        _ => mediaType,
    };

    /// <summary>
    /// A layer whose blob is not here at all is unpacked while it downloads: the download writes the blob and, through a pipe,
    /// feeds the unpacking, which takes its place in the store only after the blob's digest was checked (and its DiffID, as
    /// always). False, with nothing kept but the partial blob, when the download failed or was not begun (another pull holds the
    /// blob, or a partial one is there to resume): the caller then takes the resumable path.
    /// </summary>
    private async Task<bool> TryStreamLayerAsync(ImageReference reference, Digest digest, Digest diffId, Action<PullProgress>? progress, long? total,
        CancellationToken cancellationToken)
    {
        var path = Path.Combine(_blobs, digest.Hex);
        if (File.Exists(path) || File.Exists(path + ".partial"))
        {
            return false;
        }

        using var lockFile = await Files.FileLock.AcquireAsync(path + ".lock", $"blob {digest.Short}", removeOnRelease: true, cancellationToken: cancellationToken);
        if (File.Exists(path) || File.Exists(path + ".partial"))
        {
            return false;
        }

        // A few MiB in flight: the download waits for the unpacking rather than filling memory.
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 8 << 20, resumeWriterThreshold: 4 << 20));
        var feed = new FeedStream(pipe.Writer.AsStream(leaveOpen: true));
        long bytes = 0;
        var download = Task.Run(async () =>
        {
            try
            {
                await client.StreamBlobAsync(reference, digest, path, feed, n =>
                {
                    bytes += n;
                    progress?.Invoke(new PullProgress(digest.Short, "downloading", bytes) { Total = total });
                }, cancellationToken);
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception ex)
            {
                await pipe.Writer.CompleteAsync(ex); // the unpacking sees the failure as its stream's
                throw;
            }
        }, CancellationToken.None);
        ExceptionDispatchInfo? unpacking = null;
        try
        {
            await Task.Run(() =>
            {
                using var from = pipe.Reader.AsStream();
                store.Layers.Import(from, diffId, beforePlace: () => download.GetAwaiter().GetResult());
            }, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            unpacking = ExceptionDispatchInfo.Capture(ex);
        }
        finally
        {
            // However the unpacking ended (done, failed, or the layer was there already and nothing was read), the rest of the
            // blob goes to the disk alone and is checked: the pipe is not fed, so it neither blocks nor fills memory.
            feed.Stop();
            await pipe.Reader.CompleteAsync();
            await Task.WhenAny(download);
            _ = download.Exception; // observed: decided on below
        }

        if (unpacking is null)
        {
            progress?.Invoke(new PullProgress(digest.Short, "downloaded", bytes) { Total = total });
            progress?.Invoke(new PullProgress(digest.Short, "unpacked", bytes) { Total = total });
            return true;
        }

        // Which failed? A blob damaged on the way makes the unpacking fail too (a broken stream, a wrong DiffID); its digest
        // says so, and it is the registry's to send again, on the resumable path. A whole blob: the unpacking's own verdict.
        if (download.Exception?.GetBaseException() is not { } failure)
        {
            unpacking.Throw();
            throw new System.Diagnostics.UnreachableException();
        }

        log.Warning("Download of {Digest} while unpacking failed ({Error}); downloading it to resume", digest, failure.Message);
        return false;
    }

    /// <summary>The download's copy for the unpacking: once the unpacking has stopped, the rest goes to the disk alone.</summary>
    private sealed class FeedStream(Stream inner) : Stream
    {
        private volatile bool _stopped;

        public void Stop() => _stopped = true;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_stopped)
            {
                await inner.WriteAsync(buffer, cancellationToken);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private async Task<string> FetchBlobAsync(ImageReference reference, Digest digest, Action<PullProgress>? progress, CancellationToken cancellationToken, long? total = null)
    {
        var path = Path.Combine(_blobs, digest.Hex);
        if (File.Exists(path))
        {
            return path;
        }

        // One download per blob across runners: an exclusive lock file; whoever gets it second finds the blob there.
        using var lockFile = await Files.FileLock.AcquireAsync(path + ".lock", $"blob {digest.Short}", removeOnRelease: true, cancellationToken: cancellationToken);
        if (!File.Exists(path))
        {
            long bytes = 0;
            await client.DownloadBlobAsync(reference, digest, path, n =>
            {
                bytes += n;
                progress?.Invoke(new PullProgress(digest.Short, "downloading", bytes) { Total = total });
            }, cancellationToken);
            progress?.Invoke(new PullProgress(digest.Short, "downloaded", bytes) { Total = total });
        }

        return path;
    }
}
