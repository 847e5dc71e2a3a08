using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Ci.Isolation.Images;

namespace Ci.Isolation.Registry;

public sealed partial class RegistryClient
{
    /// <summary>
    /// Sends a request, answering an auth challenge once (a token for the repository's pull scope,
    /// or basic credentials) and retrying transient failures (network errors, 429, 5xx) with
    /// back-off. Throws a <see cref="RegistryException"/> for anything else that is not a success.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(ImageReference image, Func<HttpRequestMessage> makeRequest, CancellationToken cancellationToken,
        string? scope = null, bool acceptNotFound = false)
    {
        scope ??= $"repository:{image.Repository}:pull";
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            try
            {
                response = await SendOnceAsync(image, makeRequest, scope, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Unauthorized && AuthChallenge.Parse(response.Headers.WwwAuthenticate.ToString()) is { } challenge)
                {
                    response.Dispose();
                    await AuthenticateAsync(image, challenge, scope, cancellationToken);
                    response = await SendOnceAsync(image, makeRequest, scope, cancellationToken);
                }

                if (response.IsSuccessStatusCode || (acceptNotFound && response.StatusCode == HttpStatusCode.NotFound))
                {
                    return response;
                }

                var status = (int)response.StatusCode;
                var detail = await response.Content.ReadAsStringAsync(cancellationToken);
                if ((status == 429 || status >= 500) && attempt < options.Attempts)
                {
                    response.Dispose();
                    await Task.Delay(options.RetryDelay(attempt), cancellationToken);
                    continue;
                }

                response.Dispose();
                throw new RegistryException(status switch
                {
                    401 or 403 => $"{image.Registry}: not authorised to {(scope.EndsWith("push", StringComparison.Ordinal) ? "push to" : "pull")} {image.Repository} (add credentials to ~/.docker/config.json)",
                    404 => $"{image.Registry}: {image.Repository}: not found ({Short(detail)})",
                    _ => $"{image.Registry}: {image.Repository}: HTTP {status} ({Short(detail)})",
                });
            }
            catch (HttpRequestException ex) when (attempt < options.Attempts && !cancellationToken.IsCancellationRequested)
            {
                response?.Dispose();
                await Task.Delay(options.RetryDelay(attempt), cancellationToken);
                _ = ex;
            }
            catch (HttpRequestException ex)
            {
                throw new RegistryException($"{image.Registry}: cannot reach the registry: {ex.Message}", ex);
            }
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(ImageReference image, Func<HttpRequestMessage> makeRequest, string scope, CancellationToken cancellationToken)
    {
        var request = makeRequest();
        string? auth;
        lock (_tokensLock)
        {
            auth = _tokens.GetValueOrDefault(image.Registry + " " + scope);
        }

        if (auth is not null)
        {
            request.Headers.Authorization = AuthenticationHeaderValue.Parse(auth);
        }

        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    private async Task AuthenticateAsync(ImageReference image, AuthChallenge challenge, string scope, CancellationToken cancellationToken)
    {
        var credentials = Credentials.For(image.Registry, options.DockerConfigPath);
        string header;
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            header = "Basic " + (credentials?.Basic ?? throw new RegistryException($"{image.Registry}: asks for a user name and password; add them to ~/.docker/config.json"));
        }
        else if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) && challenge["realm"] is { } realm)
        {
            var query = $"?scope={Uri.EscapeDataString(challenge["scope"] ?? scope)}" + (challenge["service"] is { } service ? $"&service={Uri.EscapeDataString(service)}" : "");
            using var request = new HttpRequestMessage(HttpMethod.Get, realm + query);
            if (credentials is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials.Basic);
            }

            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException($"{image.Registry}: the token service {new Uri(realm).Host} refused {scope}: HTTP {(int)response.StatusCode}");
            }

            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var token = (string?)json?["token"] ?? (string?)json?["access_token"] ?? throw new RegistryException($"{image.Registry}: the token service sent no token");
            header = "Bearer " + token;
        }
        else
        {
            throw new RegistryException($"{image.Registry}: unsupported authentication '{challenge.Scheme}'");
        }

        lock (_tokensLock)
        {
            _tokens[image.Registry + " " + scope] = header;
        }
    }

    private static string Short(string text) => text.Length > 200 ? text[..200] + "…" : text.Trim();
}
