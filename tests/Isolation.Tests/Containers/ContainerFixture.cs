namespace Ci.Isolation.Tests.Containers;

/// <summary>
/// A fixture with a <see cref="ContainerHost"/> of its own: made before the fixture's own
/// one-time set-up (NUnit runs a base class's first), disposed after its tear-down.
/// </summary>
[Category("Container")]
[NonParallelizable]
public abstract class ContainerFixture
{
    protected ContainerHost Host { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task CreateHostAsync() => Host = await ContainerHost.CreateAsync();

    [OneTimeTearDown]
    public void DisposeHost() => Host?.Dispose();
}
