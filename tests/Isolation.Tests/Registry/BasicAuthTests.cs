using System.Text;
using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Containers;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Registry;

/// <summary>A registry with HTTP Basic auth (htpasswd): credentials from the Docker config file, for pull and push.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class BasicAuthTests : ContainerFixture
{
    private RegistryServer _registry = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        if (!File.Exists("/usr/bin/skopeo"))
        {
            Assert.Ignore("skopeo is not installed; .ci/run installs it");
        }

        _registry = await RegistryServer.StartAsync(Host.Directory, basic: ("deployer", "b4sic-pass"));
        var layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
        await _registry.PushAsync(layout, "v1", "team/app:v1", "deployer:b4sic-pass");
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
    }

    private RegistryClient Client(string? user, string? password)
    {
        var config = Path.Combine(Host.Directory, $"docker-config-{Guid.NewGuid():N}.json");
        var auths = new System.Text.Json.Nodes.JsonObject();
        if (user is not null)
        {
            auths[_registry.Address] = new System.Text.Json.Nodes.JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")) };
        }

        File.WriteAllText(config, new System.Text.Json.Nodes.JsonObject { ["auths"] = auths }.ToJsonString());
        return new RegistryClient(_http, new RegistryOptions { DockerConfigPath = config }, Serilog.Core.Logger.None);
    }

    private ImageStore NewStore(out string state)
    {
        state = Directory.CreateDirectory(Path.Combine(Host.Directory, "state-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        return new ImageStore(state, new LayerStore(state));
    }

    [Test, CancelAfter(60_000)]
    public async Task With_credentials_an_image_pulls_runs_and_pushes_back(CancellationToken ct)
    {
        var store = NewStore(out var state);
        var client = Client("deployer", "b4sic-pass");

        var image = await new ImagePuller(client, store, state, Serilog.Core.Logger.None).PullAsync(ImageReference.Parse($"{_registry.Address}/team/app:v1"), cancellationToken: ct);
        var run = await TestImages.RunAsync(Host, store, image, ct);
        await new ImagePusher(client, store).PushAsync(image, ImageReference.Parse($"{_registry.Address}/team/copy:v1"), cancellationToken: ct);
        var again = await new ImagePuller(client, NewStore(out var state2), state2, Serilog.Core.Logger.None)
            .PullAsync(ImageReference.Parse($"{_registry.Address}/team/copy:v1"), cancellationToken: ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput));
        Assert.That(again.Layers, Is.EqualTo(image.Layers), "what we pushed with Basic auth comes back whole");
    }

    [Test, CancelAfter(60_000)]
    public void Without_credentials_the_pull_is_refused_with_a_hint()
    {
        var store = NewStore(out var state);

        var ex = Assert.ThrowsAsync<RegistryException>(() =>
            new ImagePuller(Client(null, null), store, state, Serilog.Core.Logger.None).PullAsync(ImageReference.Parse($"{_registry.Address}/team/app:v1")));

        Assert.That(ex!.Message, Does.Contain(_registry.Address).And.Contain("~/.docker/config.json"));
    }

    [Test, CancelAfter(60_000)]
    public void A_wrong_password_is_refused_and_not_shown()
    {
        var store = NewStore(out var state);

        var ex = Assert.ThrowsAsync<RegistryException>(() =>
            new ImagePuller(Client("deployer", "wrong-pass"), store, state, Serilog.Core.Logger.None).PullAsync(ImageReference.Parse($"{_registry.Address}/team/app:v1")));

        Assert.That(ex!.Message, Does.Contain("not authorised to pull team/app").And.Not.Contain("wrong-pass"));
    }
}
