using CliWrap;
using CliWrap.Buffered;
using Ci.Isolation.Containers;

namespace Ci.Isolation.Networking;

/// <summary>
/// The firewall rules that keep bridged jobs off what they must not reach: the host itself (any of
/// its addresses: a job's new connections to it are dropped in INPUT), other jobs, and link-local
/// metadata addresses (169.254.0.0/16, dropped in FORWARD). Replies to connections the host or a
/// published port opened still pass. Two chains of our own (RUNNER-INPUT, RUNNER-FORWARD), jumped
/// to for the jobs' subnet only, installed once and shared by every runner on the host; they are
/// the runner's standing rules, as podman's CNI-FORWARD chain is. Per-job exceptions
/// (<see cref="NetworkOptions.Allow"/>) are rules on the job's own address, removed with its network.
/// </summary>
internal sealed class HostGuard(NetworkOptions options)
{
    public const string InputChain = "RUNNER-INPUT", ForwardChain = "RUNNER-FORWARD";
    private readonly SemaphoreSlim _once = new(1, 1);
    private bool _installed;

    /// <summary>Installs the chains unless they are there (another runner may have); serialized across processes by <paramref name="lockPath"/>.</summary>
    public async Task EnsureAsync(string lockPath, CancellationToken cancellationToken)
    {
        if (_installed)
        {
            return;
        }

        await _once.WaitAsync(cancellationToken);
        try
        {
            if (_installed)
            {
                return;
            }

            using (await Files.FileLock.AcquireAsync(lockPath, "the runner's firewall rules", cancellationToken: cancellationToken))
            {
                // The last rule InstallAsync adds: when it is there, so is the rest.
                if (!await HoldsAsync(["-t", "nat", "-C", "POSTROUTING", "-s", options.Subnet, "!", "-d", options.Subnet, "-j", "MASQUERADE"], cancellationToken))
                {
                    await InstallAsync(cancellationToken);
                }
            }

            _installed = true;
        }
        finally
        {
            _once.Release();
        }
    }

    private async Task InstallAsync(CancellationToken cancellationToken)
    {
        var subnet = options.Subnet;
        foreach (var chain in (string[])[InputChain, ForwardChain])
        {
            if (!await HoldsAsync(["-L", chain, "-n"], cancellationToken))
            {
                await RunAsync(["-N", chain], cancellationToken);
            }

            await RunAsync(["-F", chain], cancellationToken);
        }

        string[][] rules =
        [
            ["-A", InputChain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            ["-A", InputChain, "-j", "DROP"],
            ["-A", ForwardChain, "-d", subnet, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            ["-A", ForwardChain, "-d", subnet, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"],
            ["-A", ForwardChain, "-d", subnet, "-j", "DROP"],
            ["-A", ForwardChain, "-s", subnet, "-d", "169.254.0.0/16", "-j", "DROP"],
            ["-A", ForwardChain, "-s", subnet, "-j", "ACCEPT"],
        ];
        foreach (var rule in rules)
        {
            await RunAsync(rule, cancellationToken);
        }

        // The jumps go first in the host's chains (ahead of rules that would accept a job's packets), each once.
        foreach (var (chain, match, target) in (ValueTuple<string, string, string>[])[("INPUT", "-s", InputChain), ("FORWARD", "-d", ForwardChain), ("FORWARD", "-s", ForwardChain)])
        {
            if (!await HoldsAsync(["-C", chain, match, subnet, "-j", target], cancellationToken))
            {
                await RunAsync(["-I", chain, "1", match, subnet, "-j", target], cancellationToken);
            }
        }

        // Egress NAT for the whole subnet, one standing rule (ptp's per-job masquerade chain would cost every job's ADD and DEL
        // three iptables changes each). Added last: EnsureAsync takes it for the sign that the rest is there.
        await RunAsync(["-t", "nat", "-A", "POSTROUTING", "-s", subnet, "!", "-d", subnet, "-j", "MASQUERADE"], cancellationToken);
    }

    /// <summary>The rules that let one job's address reach the allowed networks (first in both chains).</summary>
    public async Task AllowAsync(string address, CancellationToken cancellationToken)
    {
        foreach (var (chain, match) in AllowRules(address))
        {
            await RunAsync(["-I", chain, "1", .. match], cancellationToken);
        }
    }

    /// <summary>Removes what <see cref="AllowAsync"/> added; rules already gone are no error.</summary>
    public async Task ForgetAsync(string address, CancellationToken cancellationToken)
    {
        foreach (var (chain, match) in AllowRules(address))
        {
            await HoldsAsync(["-D", chain, .. match], cancellationToken);
        }
    }

    /// <summary>Each allowed network in both chains, as a chain and the rule's match.</summary>
    private IEnumerable<(string Chain, string[] Match)> AllowRules(string address) =>
        options.Allow.SelectMany(cidr => ((string Chain, string[] Match)[])
        [
            (InputChain, ["-s", address, "-d", cidr, "-j", "ACCEPT"]),
            (ForwardChain, ["-s", address, "-d", cidr, "-j", "ACCEPT"]),
        ]);

    private async Task RunAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var result = await IptablesAsync(arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new IsolationException($"iptables {string.Join(' ', arguments)}: {result.StandardError.Trim()}");
        }
    }

    private async Task<bool> HoldsAsync(string[] arguments, CancellationToken cancellationToken) =>
        (await IptablesAsync(arguments, cancellationToken)).ExitCode == 0;

    private async Task<BufferedCommandResult> IptablesAsync(string[] arguments, CancellationToken cancellationToken)
    {
        try
        {
            // -w: wait for the xtables lock that other tools (and other runners) hold while they change rules.
            return await Cli.Wrap(options.Iptables).WithArguments(["-w", .. arguments]).WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new IsolationException($"cannot run {options.Iptables} ({ex.Message}): bridged networks need iptables (apt-get install iptables)", ex);
        }
    }
}
