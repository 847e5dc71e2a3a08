using System.Text;
using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Registry;

/// <summary>Pulls from a registry with token auth: anonymous for public repositories, credentials from the Docker config file for private ones.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class TokenAuthPullTests : RegistryFixture
{
    // Made in StartRegistryAsync, which the base class's one-time set-up calls; disposed in the one-time tear-down below.
#pragma warning disable NUnit1032
    private TokenServer _tokens = null!;
#pragma warning restore NUnit1032

    protected override Task<RegistryServer> StartRegistryAsync()
    {
        _tokens = new TokenServer(Host.Directory, "ci-bot", "s3cret-pass", repository => repository.StartsWith("public/", StringComparison.Ordinal));
        return RegistryServer.StartAsync(Host.Directory, _tokens);
    }

    [OneTimeSetUp]
    public async Task PushTestImages()
    {
        var layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
        await Registry.PushAsync(layout, "v1", "public/app:v1", "ci-bot:s3cret-pass");
        await Registry.PushAsync(layout, "v1", "private/app:v1", "ci-bot:s3cret-pass");
    }

    [OneTimeTearDown]
    public void StopTokenServer()
    {
        _tokens?.Dispose();
    }

    private async Task<(Image Image, ImageStore Store)> PullAsync(string name, string? dockerConfig, CancellationToken ct)
    {
        var (store, state) = NewStore();
        var client = Client(new RegistryOptions { DockerConfigPath = dockerConfig ?? Path.Combine(state, "none.json") });
        return (await Puller(client, store, state).PullAsync(Ref(name), cancellationToken: ct), store);
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

        Assert.That(ex!.Message, Is.EqualTo($"{Registry.Address}: not authorised to pull private/app (add credentials to ~/.docker/config.json)"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_private_repository_pulls_with_credentials_from_the_docker_config_file(CancellationToken ct)
    {
        var config = Path.Combine(Host.Directory, "docker-config.json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("ci-bot:s3cret-pass"));
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["auths"] = new System.Text.Json.Nodes.JsonObject { [Registry.Address] = new System.Text.Json.Nodes.JsonObject { ["auth"] = auth } },
        };
        await File.WriteAllTextAsync(config, json.ToJsonString(), ct);

        var (image, _) = await PullAsync("private/app:v1", config, ct);

        Assert.That(image.Layers, Has.Count.EqualTo(2));
    }
}
