using System.Net;
using System.Net.Sockets;
using Ci.Tests.Shared;

namespace Ci.Runner.Tests.Backends.Containers;

/// <summary>
/// Job networks through <c>runner exec</c> and <c>runner run</c>: bridged by default with egress (to a
/// server the test runs in a network namespace of its own, routed through the host), the host out of
/// reach, <c>host</c> said by the plan, ports published with <c>-p</c>.
/// </summary>
public sealed class JobNetworkTests : ExecFixture
{
    private const string Image = BusyboxImage;
    private string _state = null!;

    [OneTimeSetUp]
    public async Task ImportImageAsync()
    {
        if (!File.Exists("/bin/busybox") || !File.Exists("/usr/lib/cni/ptp"))
        {
            Assert.Ignore("needs busybox-static and containernetworking-plugins (.ci/run installs them)");
        }

        _state = NewState("networks");
        await ImportBusyboxAsync(_state);
    }

    [Test, CancelAfter(120_000)]
    public async Task A_job_by_default_reaches_the_internet_but_not_the_host_and_host_is_said_by_the_plan(CancellationToken ct)
    {
        await using var outside = await OutsideServer.StartAsync(Path.Combine(Dir, "www"), ct);
        using var hostService = new TcpListener(IPAddress.Any, 0);
        hostService.Start();
        var port = ((IPEndPoint)hostService.LocalEndpoint).Port;
        var repo = await RepositoryAsync($$"""
            image: {{Image}}
            jobs:
              default:
                steps:
                  - run: {{OutsideServer.HttpGet(outside.Address)}}
                  - run: if nc -w 2 {{outside.HostSide}} {{port}} </dev/null; then echo host-reached; else echo host-blocked; fi
              on-host:
                network: host
                steps: ["true"]
            """);

        var plan = await Runner(_state, "plan", "-C", repo);
        var run = await ExecInAsync(_state, repo);

        Assert.That(plan.StandardOutput, Does.Contain("network host: the host's own network, not isolated"), plan.StandardOutput);
        Assert.That(plan.StandardOutput, Does.Not.Contain("network bridge"), "the default goes unsaid");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError);
        Assert.That(run.StandardOutput, Does.Contain("[default:1] hello from outside\n"));
        Assert.That(run.StandardOutput, Does.Contain("[default:2] host-blocked\n"));
    }

    [Test, CancelAfter(120_000)]
    public async Task Runner_run_publishes_a_port_on_a_bridged_network_and_refuses_one_without(CancellationToken ct)
    {
        using var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var hostPort = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var hostAddress = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback && !i.Name.StartsWith("veth", StringComparison.Ordinal))
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .First(a => a.AddressFamily == AddressFamily.InterNetwork).ToString();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var refused = await Runner(_state, "run", "-p", $"{hostPort}:8080", Image, "true");
        var badPort = await Runner(_state, "run", "--network", "bridge", "-p", "8080", Image, "true");
        var server = RunnerCommand(_state, "run", "--network", "bridge", "-p", $"{hostPort}:8080", Image,
            "sh", "-c", "mkdir /www && echo published > /www/index.html && exec httpd -f -p 8080 -h /www").ExecuteAsync(CancellationToken.None, stop.Token);
        string? body = null;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 100 && body is null; i++)
        {
            try
            {
                body = await http.GetStringAsync($"http://{hostAddress}:{hostPort}/", ct);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100, ct);
            }
        }

        await stop.CancelAsync();
        try
        {
            await server;
        }
        catch (OperationCanceledException)
        {
            // stopped by the test, as Ctrl-C would
        }

        Assert.That(body, Is.EqualTo("published\n"));
        Assert.That((refused.ExitCode, refused.StandardError), Is.EqualTo((2, "runner: --publish needs --network bridge: with 'none' or 'host' there is nothing to forward to\n")));
        Assert.That((badPort.ExitCode, badPort.StandardError), Is.EqualTo((2, "runner: --publish '8080' is not HOST:CONTAINER with two ports from 1 to 65535 (e.g. 8080:80)\n")));
    }
}
