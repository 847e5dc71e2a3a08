using System.Text;
using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Containers;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Registry;

/// <summary>Pulls from a registry with token auth: anonymous for public repositories, credentials from the Docker config file for private ones.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class TokenAuthPullTests : ContainerFixture
{
    private TokenServer _tokens = null!;
    private RegistryServer _registry = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        if (!File.Exists("/usr/bin/skopeo"))
        {
            Assert.Ignore("skopeo is not installed; .ci/run installs it");
        }

        _tokens = new TokenServer(Host.Directory, "ci-bot", "s3cret-pass", repository => repository.StartsWith("public/", StringComparison.Ordinal));
        _registry = await RegistryServer.StartAsync(Host.Directory, _tokens);
        var layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
        await _registry.PushAsync(layout, "v1", "public/app:v1", "ci-bot:s3cret-pass");
        await _registry.PushAsync(layout, "v1", "private/app:v1", "ci-bot:s3cret-pass");
        _http = new HttpClient();
    }

    [OneTimeTearDown]
    public async Task TearDown()
    {
        _http?.Dispose();
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        _tokens?.Dispose();
    }

    private async Task<(Image Image, ImageStore Store)> PullAsync(string name, string? dockerConfig, CancellationToken ct)
    {
        var state = Directory.CreateDirectory(Path.Combine(Host.Directory, "pull-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var store = new ImageStore(state, new LayerStore(state));
        var client = new RegistryClient(_http, new RegistryOptions { DockerConfigPath = dockerConfig ?? Path.Combine(state, "none.json") }, Serilog.Core.Logger.None);
        var image = await new ImagePuller(client, store, state, Serilog.Core.Logger.None).PullAsync(ImageReference.Parse($"{_registry.Address}/{name}"), cancellationToken: ct);
        return (image, store);
    }

    [Test, CancelAfter(60_000)]
    public async Task A_public_repository_pulls_anonymously_with_a_token_for_its_pull_scope(CancellationToken ct)
    {
        var (image, store) = await PullAsync("public/app:v1", null, ct);
        var run = await TestImages.RunAsync(Host, store, image, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput));
        Assert.That(_tokens.RequestedScopes, Does.Contain("repository:public/app:pull"));
    }

    [Test, CancelAfter(60_000)]
    public void A_private_repository_without_credentials_is_refused_with_a_hint()
    {
        var ex = Assert.ThrowsAsync<RegistryException>(() => PullAsync("private/app:v1", null, CancellationToken.None));

        Assert.That(ex!.Message, Is.EqualTo($"{_registry.Address}: not authorised to pull private/app (add credentials to ~/.docker/config.json)"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_private_repository_pulls_with_credentials_from_the_docker_config_file(CancellationToken ct)
    {
        var config = Path.Combine(Host.Directory, "docker-config.json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("ci-bot:s3cret-pass"));
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["auths"] = new System.Text.Json.Nodes.JsonObject { [_registry.Address] = new System.Text.Json.Nodes.JsonObject { ["auth"] = auth } },
        };
        await File.WriteAllTextAsync(config, json.ToJsonString(), ct);

        var (image, _) = await PullAsync("private/app:v1", config, ct);

        Assert.That(image.Layers, Has.Count.EqualTo(2));
    }
}
