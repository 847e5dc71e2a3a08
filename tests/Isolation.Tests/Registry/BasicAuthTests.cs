using System.Text;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Images;

namespace Ci.Isolation.Tests.Registry;

/// <summary>A registry with HTTP Basic auth (htpasswd): credentials from the Docker config file, for pull and push.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class BasicAuthTests : RegistryFixture
{
    protected override Task<RegistryServer> StartRegistryAsync() => RegistryServer.StartAsync(Host.Directory, basic: ("deployer", "b4sic-pass"));

    [OneTimeSetUp]
    public async Task PushTestImage()
    {
        var layout = await TestImages.WriteOciLayoutAsync(Host, Path.Combine(Host.Directory, "layout"));
        await Registry.PushAsync(layout, "v1", "team/app:v1", "deployer:b4sic-pass");
    }

    /// <summary>A client whose Docker config file holds these credentials (or none).</summary>
    private RegistryClient Client(string? user, string? password)
    {
        var config = Path.Combine(Host.Directory, $"docker-config-{Guid.NewGuid():N}.json");
        var auths = new System.Text.Json.Nodes.JsonObject();
        if (user is not null)
        {
            auths[Registry.Address] = new System.Text.Json.Nodes.JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")) };
        }

        File.WriteAllText(config, new System.Text.Json.Nodes.JsonObject { ["auths"] = auths }.ToJsonString());
        return Client(new RegistryOptions { DockerConfigPath = config });
    }

    [Test, CancelAfter(60_000)]
    public async Task With_credentials_an_image_pulls_runs_and_pushes_back(CancellationToken ct)
    {
        var (store, state) = NewStore();
        var client = Client("deployer", "b4sic-pass");

        var image = await Puller(client, store, state).PullAsync(Ref("team/app:v1"), cancellationToken: ct);
        var run = await TestImages.RunAsync(Host, store, image, ct);
        await new ImagePusher(client, store).PushAsync(image, Ref("team/copy:v1"), cancellationToken: ct);
        var (store2, state2) = NewStore();
        var again = await Puller(client, store2, state2).PullAsync(Ref("team/copy:v1"), cancellationToken: ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(TestImages.ExpectedOutput));
        Assert.That(again.Layers, Is.EqualTo(image.Layers), "what we pushed with Basic auth comes back whole");
    }

    [Test, CancelAfter(60_000)]
    public void Without_credentials_the_pull_is_refused_with_a_hint()
    {
        var (store, state) = NewStore();

        var ex = Assert.ThrowsAsync<RegistryException>(() => Puller(Client(null, null), store, state).PullAsync(Ref("team/app:v1")));

        Assert.That(ex!.Message, Does.Contain(Registry.Address).And.Contain("~/.docker/config.json"));
    }

    [Test, CancelAfter(60_000)]
    public void A_wrong_password_is_refused_and_not_shown()
    {
        var (store, state) = NewStore();

        var ex = Assert.ThrowsAsync<RegistryException>(() => Puller(Client("deployer", "wrong-pass"), store, state).PullAsync(Ref("team/app:v1")));

        Assert.That(ex!.Message, Does.Contain("not authorised to pull team/app").And.Not.Contain("wrong-pass"));
    }
}
