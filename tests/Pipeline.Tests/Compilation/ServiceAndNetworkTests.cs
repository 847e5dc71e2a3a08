using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;

namespace Ci.Pipeline.Tests.Compilation;

/// <summary>What the language says of services and networks: defaults, readiness checks, positioned errors.</summary>
public sealed class ServiceAndNetworkTests
{
    private TempRepo _repo = null!;

    [SetUp]
    public void SetUp() => _repo = new TempRepo();

    [TearDown]
    public void TearDown() => _repo.Dispose();

    [Test]
    public void Jobs_are_bridged_by_default_and_a_step_may_name_its_own_network()
    {
        var plan = _repo.Plan("""
            defaults: { }
            jobs:
              a:
                steps:
                  - run: make
                  - run: curl example.org
                    network: none
              b:
                network: host
                steps: [make]
            """);

        Assert.That(plan.FindJob("a")!.Network, Is.EqualTo(NetworkMode.Bridge));
        Assert.That(plan.FindJob("a")!.Steps.Select(s => s.Network), Is.EqualTo(new NetworkMode?[] { null, NetworkMode.None }));
        Assert.That(plan.FindJob("b")!.Network, Is.EqualTo(NetworkMode.Host));
    }

    [Test]
    public void A_service_compiles_with_its_alias_env_command_limits_and_every_readiness_check()
    {
        var plan = _repo.Plan("""
            jobs:
              test:
                matrix: { port: ["8080"] }
                services:
                  - docker.io/library/postgres:16-alpine
                  - image: localhost/web:1
                    alias: web
                    env: { MODE: test }
                    command: [serve, --port, "${{ matrix.port }}"]
                    resources: { memory: 256Mi, cpus: 0.5 }
                    readiness:
                      http: http://web:${{ matrix.port }}/health
                      tcp: 8080
                      command: [check]
                      interval: 200ms
                      timeout: 10s
                steps: [make test]
            """);

        var services = plan.Jobs.Single().Services;
        Assert.That(services.Select(s => s.Alias), Is.EqualTo(new[] { "postgres", "web" }));
        var web = services[1];
        Assert.That(web.Command, Is.EqualTo(new[] { "serve", "--port", "8080" }));
        Assert.That(web.Env.Select(e => (e.Name, e.Value)), Does.Contain(("MODE", "test")));
        Assert.That((web.Limits!.MemoryBytes, web.Limits.MilliCpus), Is.EqualTo((256L * 1024 * 1024, 500)));
        Assert.That(web.Readiness!.Http, Is.EqualTo("http://web:8080/health"));
        Assert.That((web.Readiness.TcpPort, web.Readiness.Command, web.Readiness.Interval, web.Readiness.Timeout),
            Is.EqualTo((8080, (IReadOnlyList<string>)["check"], TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10))));
    }

    [Test]
    public void Readiness_without_a_check_or_with_a_url_that_is_not_http_is_an_error_where_it_is()
    {
        var errors = _repo.Errors("""
            jobs:
              test:
                services:
                  - image: a
                    readiness: { interval: 1s }
                  - image: b
                    readiness: { http: "ftp://b/" }
                steps: [make]
            """);

        Assert.That(errors.Select(e => $"{e.Position.Line},{e.Position.Column} {e.Code} {e.Message}"), Is.EqualTo(new[]
        {
            $"5,20 {DiagnosticCodes.MissingKey} readiness needs 'command', 'tcp' or 'http'",
            $"7,29 {DiagnosticCodes.InvalidValue} readiness.http 'ftp://b/' must be an http:// URL, such as http://localhost:8080/health",
        }));
    }

    [Test]
    public void A_step_network_outside_the_three_modes_is_refused_with_them()
    {
        var errors = _repo.Errors("""
            jobs:
              test:
                steps:
                  - run: make
                    network: internet
            """);

        Assert.That(errors.Single().Message, Does.Contain("internet").And.Contain("bridge").And.Contain("none").And.Contain("host"));
        Assert.That(errors.Single().Position.Line, Is.EqualTo(5));
    }
}
