using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Ci.Isolation.Images;
using Serilog;

namespace Ci.Isolation.Registry;

/// <summary>
/// The OCI distribution protocol, as a client: manifests and blobs, anonymous, token
/// (<c>WWW-Authenticate: Bearer</c>) and basic auth, retries with back-off, digest verification,
/// and resumable blob downloads. Thread-safe.
/// </summary>
public sealed partial class RegistryClient(HttpClient http, RegistryOptions options, ILogger log)
{
    public static readonly string[] ManifestTypes =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];

    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _tokensLock = new();

    public sealed record Manifest(JsonNode Body, string MediaType, Digest Digest);

    /// <summary>Fetches a manifest or index by tag or digest; a digest-addressed one must hash to that digest.</summary>
    public async Task<Manifest> GetManifestAsync(ImageReference image, string reference, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(image, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, Url(image, $"manifests/{reference}"));
            foreach (var type in ManifestTypes)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            return request;
        }, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var digest = new Digest(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        if (reference.StartsWith("sha256:", StringComparison.Ordinal) && reference != digest.ToString())
        {
            throw new RegistryException($"{image.Registry}: manifest {reference} of {image.Repository} does not match its digest (got {digest})");
        }

        var body = JsonNode.Parse(bytes) ?? throw new RegistryException($"{image.Registry}: empty manifest for {image.Repository}:{reference}");
        var mediaType = (string?)body["mediaType"] ?? response.Content.Headers.ContentType?.MediaType ?? "";
        return new Manifest(body, mediaType, digest);
    }

    /// <summary>
    /// Downloads a blob to <paramref name="target"/>, verified against <paramref name="digest"/>. A
    /// partial download left by an interruption is resumed with a Range request where the
    /// registry allows it; a corrupt result is deleted and fetched again, never kept.
    /// </summary>
    public async Task DownloadBlobAsync(ImageReference image, Digest digest, string target, Action<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var partial = target + ".partial";
        for (var attempt = 1; ; attempt++)
        {
            var offset = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            if (offset > 0 && await MatchesAsync(partial, digest, cancellationToken))
            {
                // A download that completed before the runner was stopped: asking for more would get HTTP 416.
                File.Move(partial, target, overwrite: true);
                return;
            }

            try
            {
                using var response = await SendAsync(image, () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, Url(image, $"blobs/{digest}"));
                    if (offset > 0)
                    {
                        request.Headers.Range = new RangeHeaderValue(offset, null);
                    }

                    return request;
                }, cancellationToken);
                var resumed = offset > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                await ReceiveAsync(image, digest, response, target, resumed, null, progress, cancellationToken);
                return;
            }
            catch (RegistryException) when (offset > 0 && attempt < options.Attempts)
            {
                // The registry refused the range (HTTP 416: the partial file is longer than the blob, or was left by another
                // blob of the same name): it cannot be resumed, so it goes and the next attempt starts from the beginning.
                log.Warning("Resuming {Digest} from byte {Offset} was refused; downloading it again from the start", digest, offset);
                File.Delete(partial);
            }
            catch (Exception ex) when (attempt < options.Attempts && IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                log.Warning("Download of {Digest} from {Registry} failed ({Error}); attempt {Next} of {Attempts}", digest, image.Registry, ex.Message, attempt + 1, options.Attempts);
                await Task.Delay(options.RetryDelay(attempt), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Downloads a blob into <paramref name="target"/> (through TARGET.partial) and writes every byte to <paramref name="consumer"/>
    /// as it arrives, hashing as it goes, so what reads the consumer works while the blob downloads. One attempt, from the start:
    /// the caller falls back to <see cref="DownloadBlobAsync"/>, which resumes from the partial file. On a digest mismatch the
    /// partial file goes and it throws; the consumer must keep nothing it made before this has completed.
    /// </summary>
    public async Task StreamBlobAsync(ImageReference image, Digest digest, string target, Stream consumer, Action<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(image, () => new HttpRequestMessage(HttpMethod.Get, Url(image, $"blobs/{digest}")), cancellationToken);
        await ReceiveAsync(image, digest, response, target, append: false, consumer, progress, cancellationToken);
    }

    /// <summary>
    /// Writes a blob's body to TARGET.partial (after what is there, when <paramref name="append"/>) and to <paramref name="consumer"/>,
    /// checks it against <paramref name="digest"/> (hashed as it arrives; a resumed one is read again whole) and renames it to
    /// <paramref name="target"/>; a corrupt one is deleted and refused as transient (the registry's to send again).
    /// </summary>
    private static async Task ReceiveAsync(ImageReference image, Digest digest, HttpResponseMessage response, string target, bool append, Stream? consumer,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        var partial = target + ".partial";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                if (consumer is not null)
                {
                    await consumer.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                }

                progress?.Invoke(n);
            }
        }

        var whole = append ? await MatchesAsync(partial, digest, cancellationToken) : Convert.ToHexStringLower(hash.GetHashAndReset()) == digest.Hex;
        if (!whole)
        {
            File.Delete(partial);
            throw new RegistryException($"{image.Registry}: blob {digest} of {image.Repository} is corrupt (its content does not hash to its digest)") { Transient = true };
        }

        File.Move(partial, target, overwrite: true);
    }

    private static async Task<bool> MatchesAsync(string file, Digest digest, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken)) == digest.Hex;
    }

    /// <summary>A failure worth another attempt: the network, a timeout, or a corrupt transfer (fetched again from the start).</summary>
    private static bool IsTransient(Exception ex) =>
        ex is HttpRequestException or IOException or TaskCanceledException { InnerException: TimeoutException }
        || ex is RegistryException { Transient: true };

    private Uri Url(ImageReference image, string path)
    {
        var host = image.Registry == ImageReference.DefaultRegistry ? "registry-1.docker.io" : image.Registry;
        var scheme = IsInsecure(image.Registry) ? "http" : "https";
        return new Uri($"{scheme}://{host}/v2/{image.Repository}/{path}");
    }

    private bool IsInsecure(string registry)
    {
        var host = registry.StartsWith('[') ? registry[..(registry.IndexOf(']', StringComparison.Ordinal) + 1)] : registry.Split(':')[0];
        return host is "localhost" or "127.0.0.1" or "[::1]" || host.StartsWith("127.", StringComparison.Ordinal) || options.Insecure.Contains(registry);
    }
}
