using System.Net;
using System.Net.Sockets;
using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;
using Ci.Isolation.Networking;
using Ci.Tests.Shared;

namespace Ci.Isolation.Tests.Containers;

/// <summary>
/// Bridged networks: a private address with egress through NAT, and the guard that keeps a job off
/// the host, off link-local metadata addresses and off other jobs. The "internet" is a server in a
/// network namespace the test makes, reached through the host's routing like an outside server.
/// </summary>
[Category("Container")]
[NonParallelizable]
public sealed class BridgedNetworkTests : ContainerFixture
{
    private OutsideServer _outside = null!;

    [SetUp]
    public async Task StartOutsideServerAsync()
    {
        if (!File.Exists("/usr/lib/cni/ptp"))
        {
            Assert.Ignore("containernetworking-plugins is not installed (.ci/run installs it)");
        }

        _outside = await OutsideServer.StartAsync(Path.Combine(Host.Directory, "www"), CancellationToken.None);
    }

    [TearDown]
    public async Task StopOutsideServerAsync()
    {
        if (_outside is not null)
        {
            await _outside.DisposeAsync();
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task A_bridged_job_reaches_an_outside_server_through_nat_and_has_the_hosts_name_servers(CancellationToken ct)
    {
        await using var network = await Host.Runtime.CreateBridgedNetworkAsync([], ct);

        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", $"{OutsideServer.HttpGet(_outside.Address)}; cat /etc/resolv.conf; ip -4 -o addr show eth0")
            with { Network = ContainerNetwork.Shared(network) }, ct);

        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout, Does.StartWith("hello from outside\n"), "the outside namespace has no route to the jobs: only NAT brings the answer back");
        var hostServers = File.ReadLines("/etc/resolv.conf").Where(l => l.StartsWith("nameserver ", StringComparison.Ordinal) && !l.Contains(" 127.", StringComparison.Ordinal));
        foreach (var server in hostServers)
        {
            Assert.That(run.Stdout, Does.Contain(server + "\n"), run.ToString());
        }

        Assert.That(run.Stdout, Does.Contain($"inet {network.Address}/"), run.ToString());
    }

    [Test, CancelAfter(60_000)]
    public async Task A_bridged_job_cannot_reach_the_host_its_loopback_services_or_a_metadata_address(CancellationToken ct)
    {
        // A service of the host on every address, as a build machine's database or the webhook server might be.
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var hostAddresses = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork).Select(a => a.ToString()).ToList();
        await using var network = await Host.Runtime.CreateBridgedNetworkAsync([], ct);
        var targets = hostAddresses.Select(a => $"{a}:{port}").Append($"{_outside.MetadataAddress}:80").Append($"{_outside.Address}:80").ToList();

        var script = string.Concat(targets.Select(t => $"if nc -w 2 {t.Replace(':', ' ')} </dev/null; then echo '{t} open'; else echo '{t} blocked'; fi; "));
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", script) with { Network = ContainerNetwork.Shared(network) }, ct);

        var expected = targets.Select(t => t.StartsWith(_outside.Address + ":", StringComparison.Ordinal) ? $"{t} open" : $"{t} blocked");
        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(expected), $"host addresses {string.Join(", ", hostAddresses)}\n{run}");
    }

    [Test, CancelAfter(60_000)]
    public async Task An_address_the_runners_configuration_allows_is_reached_and_only_by_jobs_of_that_runtime(CancellationToken ct)
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        // Accepts and closes at once, so that a client that got in (busybox nc waits for the other side to close) ends.
        _ = Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(ct);
            }
        }, ct);
        var allowing = ContainerRuntime.Create(Host.Runtime.Options with
        {
            Network = Host.Runtime.Options.Network with { Allow = [_outside.HostSide + "/32"] },
        });
        await using var allowed = await allowing.CreateBridgedNetworkAsync([], ct);
        await using var guarded = await Host.Runtime.CreateBridgedNetworkAsync([], ct);
        var probe = $"if nc -w 2 {_outside.HostSide} {port} </dev/null; then echo reached; else echo blocked; fi";

        var yes = await Host.RunAsync(Host.Spec("/bin/sh", "-c", probe) with { Network = ContainerNetwork.Shared(allowed) }, ct);
        var no = await Host.RunAsync(Host.Spec("/bin/sh", "-c", probe) with { Network = ContainerNetwork.Shared(guarded) }, ct);
        var rules = await Cli.Wrap("iptables").WithArguments(["-S", HostGuardChain]).ExecuteBufferedAsync(ct);
        await allowed.DisposeAsync();
        var after = await Cli.Wrap("iptables").WithArguments(["-S", HostGuardChain]).ExecuteBufferedAsync(ct);

        Assert.That(yes.Stdout, Is.EqualTo("reached"), yes.ToString());
        Assert.That(no.Stdout, Is.EqualTo("blocked"), no.ToString());
        Assert.That(rules.StandardOutput, Does.Contain($"-s {allowed.Address}/32 -d {_outside.HostSide}/32 -j ACCEPT"));
        Assert.That(after.StandardOutput, Does.Not.Contain($"-s {allowed.Address}/32"), "the exception goes with the job's network");
    }

    private const string HostGuardChain = "RUNNER-INPUT";

    [Test, CancelAfter(60_000)]
    public async Task Two_jobs_listen_on_one_port_at_once_and_cannot_reach_each_other(CancellationToken ct)
    {
        await using var first = await Host.Runtime.CreateBridgedNetworkAsync([], ct);
        await using var second = await Host.Runtime.CreateBridgedNetworkAsync([], ct);
        var serve = "mkdir -p /www && echo $0 > /www/index.html && httpd -p 5432 -h /www && sleep 1 && " + OutsideServer.HttpGet("127.0.0.1", 5432);

        var one = Host.RunAsync(Host.Spec("/bin/sh", "-c", serve, "first") with { Network = ContainerNetwork.Shared(first) }, ct);
        var two = Host.RunAsync(Host.Spec("/bin/sh", "-c", serve + $"; nc -w 2 {first.Address} 5432 </dev/null && echo reached-first || echo first-blocked", "second")
            with { Network = ContainerNetwork.Shared(second) }, ct);
        var (a, b) = (await one, await two);

        Assert.That(a.Stdout, Is.EqualTo("first"), a.ToString());
        Assert.That(b.Stdout, Is.EqualTo("second\nfirst-blocked"), b.ToString());
        Assert.That(first.Address, Is.Not.EqualTo(second.Address));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_published_port_of_the_host_reaches_the_container(CancellationToken ct)
    {
        using var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var hostPort = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var hostAddress = HostAddress();
        await using var network = await Host.Runtime.CreateBridgedNetworkAsync([new PortMapping(hostPort, 8080)], ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var server = Host.RunAsync(Host.Spec("/bin/sh", "-c", "mkdir /www && echo published > /www/index.html && httpd -f -p 8080 -h /www")
            with { Network = ContainerNetwork.Shared(network) }, stop.Token);
        string? body = null;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 50 && body is null; i++)
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
        await server;

        Assert.That(body, Is.EqualTo("published\n"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_released_network_leaves_no_interface_no_lease_no_rule_and_no_record(CancellationToken ct)
    {
        var before = await HostStateAsync(ct);
        string address, path;
        await using (var network = await Host.Runtime.CreateBridgedNetworkAsync([new PortMapping(18080, 80)], ct))
        {
            (address, path) = (network.Address!, network.Path);
            var during = await HostStateAsync(ct);
            Assert.That(during.Routes, Does.Contain(address), "the job's address is routed by the host while it lives");
            Assert.That(File.Exists(Path.Combine("/run/runner-network/ipam/runner", address)), Is.True, "its lease");
        }

        // The kernel removes the veth pair and its route with the namespace, in its own time: a moment.
        var after = await HostStateAsync(ct);
        for (var i = 0; i < 50 && (after.Routes.Contains(address + " ", StringComparison.Ordinal) || after.Links != before.Links); i++)
        {
            await Task.Delay(100, ct);
            after = await HostStateAsync(ct);
        }

        Assert.That(after.Routes, Does.Not.Contain(address + " "));
        Assert.That(after.Links, Is.EqualTo(before.Links));
        Assert.That(after.Nat, Is.EqualTo(before.Nat));
        Assert.That(File.Exists(Path.Combine("/run/runner-network/ipam/runner", address)), Is.False, "the lease is released");
        Assert.That(File.Exists(path), Is.False);
        Assert.That(File.Exists(path + ".cni"), Is.False);
    }

    private static string HostAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .First(a => a.AddressFamily == AddressFamily.InterNetwork && !a.ToString().StartsWith("10.213.", StringComparison.Ordinal)
                && !a.ToString().StartsWith("198.1", StringComparison.Ordinal)).ToString();

    private static async Task<(string Routes, string Links, string Nat)> HostStateAsync(CancellationToken ct)
    {
        async Task<string> Of(string program, params string[] arguments) =>
            (await Cli.Wrap(program).WithArguments(arguments).ExecuteBufferedAsync(ct)).StandardOutput;

        var links = string.Join("\n", (await Of("ip", "-o", "link")).Split('\n').Select(l => l.Split(':').ElementAtOrDefault(1)?.Trim().Split('@')[0]).Where(n => n is not null && !n.StartsWith("vo-", StringComparison.Ordinal)).Order());
        return (await Of("ip", "route"), links, await Of("iptables", "-t", "nat", "-S"));
    }
}
