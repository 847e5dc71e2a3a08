using Ci.Isolation.Containers;

namespace Ci.Isolation.Tests.Containers;

/// <summary>Network modes: none (own namespace, loopback up), host, and one namespace shared by several containers.</summary>
[Category("Container")]
[NonParallelizable]
public sealed class NetworkTests : ContainerFixture
{

    [Test, CancelAfter(30_000)]
    public async Task None_has_only_loopback_and_it_is_up(CancellationToken ct)
    {
        var run = await Host.ShAsync(
            "ls /sys/class/net; cat /proc/sys/net/ipv4/ping_group_range; (timeout 5 nc -l -p 9097 &); " +
            "for i in $(seq 50); do echo x | nc 127.0.0.1 9097 2>/dev/null && echo loopback-ok && break; sleep 0.1; done", ct);

        // The listener's echo of "x" may come before or after, or not at all (init kills it when the shell ends); the client's success is the proof.
        var lines = run.Stdout.Split('\n');
        Assert.That(lines[..2], Is.EqualTo(new[] { "lo", "0\t2147483647" }), run.ToString());
        Assert.That(lines, Does.Contain("loopback-ok"), run.ToString());
    }

    [Test, CancelAfter(30_000)]
    public async Task Host_sees_the_hosts_interfaces(CancellationToken ct)
    {
        var hostInterfaces = Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName).Order().ToList();

        var run = await Host.RunAsync(Host.Spec("ls", "/sys/class/net") with { Network = ContainerNetwork.Host }, ct);

        Assert.That(run.Stdout.Split('\n'), Is.EqualTo(hostInterfaces));
    }

    [Test, CancelAfter(60_000)]
    public async Task Containers_given_one_shared_namespace_reach_each_other_on_loopback(CancellationToken ct)
    {
        await using var shared = await Host.Runtime.CreateNetworkNamespaceAsync(ct);
        var network = ContainerNetwork.Shared(shared);

        // busybox nc exits as soon as its stdin reaches EOF, which raced with the client's data (1 run in 12 printed nothing):
        // its stdin is a fifo held open, so only the client's close ends it.
        var server = Host.RunAsync(Host.Spec("/bin/sh", "-c", "mkfifo /tmp/in; timeout 20 nc -l -p 9099 < /tmp/in & exec 3> /tmp/in; wait") with { Network = network }, ct);
        var client = await Host.RunAsync(Host.Spec("/bin/sh", "-c",
            "for i in $(seq 100); do echo hello-from-the-next-step | nc 127.0.0.1 9099 && exit 0; sleep 0.1; done; exit 1") with { Network = network }, ct);
        var received = await server;

        Assert.That(client.Result.ExitCode, Is.EqualTo(0), client.ToString());
        Assert.That(received.Stdout, Is.EqualTo("hello-from-the-next-step"), $"server: {received}\nclient: {client}");
    }

    [Test, CancelAfter(60_000)]
    public async Task Containers_with_network_none_do_not_share_loopback(CancellationToken ct)
    {
        var server = Host.RunAsync(Host.Spec("timeout", "3", "nc", "-l", "-p", "9098"), ct);
        await Task.Delay(500, ct);
        var client = await Host.ShAsync("echo x | nc -w 1 127.0.0.1 9098 && echo connected || echo refused", ct);
        await server;

        Assert.That(client.Stdout, Is.EqualTo("refused"));
    }

    [Test, CancelAfter(30_000)]
    public async Task A_disposed_shared_namespace_leaves_no_mount(CancellationToken ct)
    {
        string path;
        await using (var shared = await Host.Runtime.CreateNetworkNamespaceAsync(ct))
        {
            path = shared.Path;
            Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Contain(path));
        }

        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(path));
        Assert.That(File.Exists(path), Is.False);
    }
}
