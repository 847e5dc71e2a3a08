using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Registry;

/// <summary>
/// A fixture with a real registry of its own (docker-registry on loopback; skopeo for the
/// cross-checks), started after the container host and stopped before it. Subclasses choose the
/// registry's authentication by overriding <see cref="StartRegistryAsync"/>.
/// </summary>
[Category("Container")]
[NonParallelizable]
public abstract class RegistryFixture : ContainerFixture
{
    protected RegistryServer Registry { get; private set; } = null!;

    protected HttpClient Http { get; } = new();

    /// <summary>The registry to test against: anonymous unless a subclass says otherwise.</summary>
    protected virtual Task<RegistryServer> StartRegistryAsync() => RegistryServer.StartAsync(Host.Directory);

    [OneTimeSetUp]
    public async Task StartRegistry()
    {
        if (!File.Exists("/usr/bin/skopeo"))
        {
            Assert.Ignore("skopeo is not installed; .ci/run installs it");
        }

        Registry = await StartRegistryAsync();
    }

    [OneTimeTearDown]
    public async Task StopRegistry()
    {
        Http.Dispose();
        if (Registry is not null)
        {
            await Registry.DisposeAsync();
        }
    }

    protected ImageReference Ref(string name) => ImageReference.Parse($"{Registry.Address}/{name}");

    protected RegistryClient Client(RegistryOptions? options = null) => new(Http, options ?? new RegistryOptions(), Serilog.Core.Logger.None);

    /// <summary>A fresh, empty store in a state directory of its own, so each pull starts from nothing.</summary>
    protected (ImageStore Store, string State) NewStore()
    {
        var state = Directory.CreateDirectory(Path.Combine(Host.Directory, "state-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        return (new ImageStore(state, new LayerStore(state)), state);
    }

    protected ImagePuller Puller(RegistryClient client, ImageStore store, string state) => new(client, store, state, Serilog.Core.Logger.None);
}
