using System.CommandLine;
using Ci.Isolation.Containers;
using Ci.Isolation.Networking;
using Ci.Isolation.Images;
using Ci.Pipeline.Values;
using Serilog;

namespace Ci.Runner.Cli;

/// <summary>
/// <c>runner run</c>: one container, like <c>docker run --rm</c>. Prints its output and exits
/// with its exit code (128 + signal when killed); says in words when it was OOM-killed or timed out.
/// </summary>
internal static class RunCommand
{
    private static readonly Option<DirectoryInfo> Rootfs = new("--rootfs") { Description = "Root file system directory (kept read-only; writes go to a fresh layer)" };
    private static readonly Option<bool> HostImageOption = new("--host-image") { Description = "Run on the built-in image: the host's /usr and system directories, read-only (what pipelines without image: use)" };
    private static readonly Argument<string[]> Command = new("command") { Description = "IMAGE [COMMAND ARGS...], or with --rootfs: COMMAND ARGS... (after --)", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string> Cpus = new("--cpus") { Description = "CPU limit, such as 0.5 or 2" };
    private static readonly Option<string> Memory = new("--memory", "-m") { Description = "Memory limit, such as 256Mi or 1G" };
    private static readonly Option<int?> CpuShares = new("--cpu-shares") { Description = "Relative CPU weight under contention (2-262144, default 1024)" };
    private static readonly Option<int?> Pids = new("--pids") { Description = "Most processes at once (default 4096)" };
    private static readonly Option<string> Network = new("--network")
    {
        Description = "none (loopback only, the default), bridge (a private address with egress; the host stays out of reach) or host",
        DefaultValueFactory = _ => "none",
    };

    private static readonly Option<string[]> Publish = new("--publish", "-p") { Description = "Forward a port of the host to the container, HOST:CONTAINER[/udp] (repeatable; needs --network bridge)" };
    private static readonly Option<string[]> Volumes = new("--volume", "-v") { Description = "Bind mount SRC:DST[:ro] (repeatable)" };
    private static readonly Option<string[]> EnvVars = new("--env", "-e") { Description = "Environment variable K=V (repeatable)" };
    private static readonly Option<string> Workdir = new("--workdir", "-w") { Description = "Working directory inside the container (default: the image's, or /)" };
    private static readonly Option<string> User = new("--user", "-u") { Description = "UID[:GID] to run as (default 0:0)" };
    private static readonly Option<string> Timeout = new("--timeout") { Description = "Time limit, such as 30s or 5m; then SIGTERM, 10s, SIGKILL" };
    private static readonly Option<bool> InitOption = new("--init") { Description = "Run a minimal init as PID 1 that forwards signals and reaps orphans; the command is then PID 2 (as docker run --init)" };
    private static readonly Option<string> Hostname = new("--hostname") { Description = "Host name inside the container", DefaultValueFactory = _ => "runner" };

    public static Command Create(RunnerHost host)
    {
        var command = new Command("run", "Run one command in a fresh container and remove it afterwards");
        foreach (var option in new Option[] { Rootfs, HostImageOption, Cpus, CpuShares, Memory, Pids, Network, Publish, Volumes, EnvVars, Workdir, User, Timeout, Hostname, InitOption })
        {
            command.Options.Add(option);
        }

        Network.AcceptOnlyFromAmong("none", "bridge", "host");
        command.Arguments.Add(Command);
        command.SetAction((parse, ct) => RunAsync(host, parse, ct));
        return command;
    }

    private static async Task<int> RunAsync(RunnerHost host, ParseResult parse, CancellationToken cancellationToken)
    {
        // An image not in the store is pulled first, as docker run does.
        var words = parse.GetValue(Command) ?? [];
        if (parse.GetValue(Rootfs) is null && !parse.GetValue(HostImageOption)
            && ImageReference.TryParse(words[0], out var wanted, out _) && host.Images.Find(wanted!) is null
            && await ImageCommand.PullAsync(host, wanted!, quiet: false, cancellationToken) is null)
        {
            return ExitCodes.InvalidInput;
        }

        ContainerSpec? spec;
        string error;
        try
        {
            spec = ReadSpec(host, parse, out error);
        }
        catch (IsolationException ex)
        {
            (spec, error) = (null, ex.Message);
        }

        List<PortMapping> ports = [];
        try
        {
            ports.AddRange((parse.GetValue(Publish) ?? []).Select(PortMapping.Parse));
            if (ports.Count > 0 && parse.GetValue(Network) != "bridge")
            {
                throw new FormatException("needs --network bridge: with 'none' or 'host' there is nothing to forward to");
            }
        }
        catch (FormatException ex)
        {
            (spec, error) = (null, "--publish " + ex.Message);
        }

        if (spec is null)
        {
            await Console.Error.WriteLineAsync($"runner: {error}");
            return ExitCodes.InvalidInput;
        }

        ContainerRuntime runtime;
        try
        {
            runtime = ContainerRuntime.Create(host.Settings.RuntimeOptions with { UseLauncher = true }, Log.Logger);
        }
        catch (Exception ex) when (ex is IsolationException or Isolation.Cgroups.CgroupUnavailableException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"runner: cannot start containers here: {ex.Message}");
            return ExitCodes.InternalError;
        }

        var stdout = Console.Out;
        var stderr = Console.Error;
        ContainerResult result;
        NetworkNamespace? bridged = null;
        try
        {
            if (parse.GetValue(Network) == "bridge")
            {
                bridged = await runtime.CreateBridgedNetworkAsync(ports, cancellationToken);
                spec = spec with { Network = ContainerNetwork.Shared(bridged) };
            }

            // Ctrl-C: SIGTERM and the grace period; a second Ctrl-C: SIGKILL now.
            result = await runtime.RunAsync(spec, line => (line.Stream == OutputStream.Stdout ? stdout : stderr).WriteLine(Engine.TerminalText.Neutralise(line.Text)),
                cancellationToken, Interrupts.Forceful);
        }
        catch (ContainerSpecException ex)
        {
            await stderr.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (IsolationException ex)
        {
            await stderr.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InternalError;
        }
        finally
        {
            if (bridged is not null)
            {
                await bridged.DisposeAsync();
            }
        }

        Log.Debug("Container ended: {Result}", result);
        if (result.OomKilled)
        {
            await stderr.WriteLineAsync($"runner: killed: out of memory (limit {Limit(result.Limits.MemoryBytes)}, peak {Units.FormatBytes(result.PeakMemoryBytes)})");
        }
        else if (result.TimedOut)
        {
            await stderr.WriteLineAsync($"runner: killed: timed out after {Units.FormatDuration(spec.Timeout!.Value)}");
        }
        else if (result.WritableLimitExceeded is { } disk)
        {
            await stderr.WriteLineAsync($"runner: killed: wrote more than {Units.FormatBytes(disk)} into its file system (the limit, {Settings.RunnerSettings.WritableLimitVariable})");
        }

        // A timeout always fails, as timeout(1) does: the command may have ended by itself during the grace period.
        return result.TimedOut && result.ShellExitCode == 0 ? TimedOutExit : result.ShellExitCode;
    }

    /// <summary>The exit code of a container stopped by its timeout that still ended with 0 (timeout(1)'s).</summary>
    private const int TimedOutExit = 124;

    /// <summary>
    /// A size as docker and podman take it on their run flags: a number and an optional lowercase
    /// b, k, m or g, in binary units (512m is 512 MiB). The pipeline language stays strict; the
    /// docker-like flags accept what users type there.
    /// </summary>
    private static bool DockerSize(string text, out long bytes)
    {
        bytes = 0;
        var match = System.Text.RegularExpressions.Regex.Match(text, "^([0-9]+)([bkmg])$");
        if (!match.Success || !long.TryParse(match.Groups[1].Value, out var n))
        {
            return false;
        }

        bytes = n << match.Groups[2].Value[0] switch { 'k' => 10, 'm' => 20, 'g' => 30, _ => 0 };
        return true;
    }

    private static string Limit(long? bytes) => bytes is { } b ? Units.FormatBytes(b) : "none";

    private static ContainerSpec? ReadSpec(RunnerHost host, ParseResult parse, out string error)
    {
        error = "";
        var words = parse.GetValue(Command) ?? [];
        ImageRoot root;
        if (parse.GetValue(HostImageOption))
        {
            root = ImageRoot.Of(HostImage.Open(host.Settings.StateDirectory));
        }
        else if (parse.GetValue(Rootfs) is { } rootfs)
        {
            if (!rootfs.Exists)
            {
                error = $"--rootfs {rootfs.FullName}: no such directory";
                return null;
            }

            root = new ImageRoot([rootfs.FullName], [], ImageConfig.Default);
        }
        else
        {
            if (!ImageReference.TryParse(words[0], out var reference, out error))
            {
                error = $"image '{words[0]}': {error}";
                return null;
            }

            var store = host.Images;
            if (store.Find(reference!) is not { } image)
            {
                error = $"no image {reference} in the store (runner image ls); import one with 'runner image import ROOTFS.tar --tag {words[0]}', or use --rootfs DIR";
                return null;
            }

            root = ImageRoot.Of(store, image);
            words = words[1..];
        }

        var (layers, rootMounts, config) = root;
        var imageMounts = new List<BindMount>(rootMounts);

        // Docker's rule: given words replace the image's Cmd and follow its Entrypoint.
        IReadOnlyList<string> command = [.. config.Entrypoint ?? [], .. words.Length > 0 ? words : config.Cmd ?? []];
        if (command.Count == 0)
        {
            error = "no command: give one after the image (or --rootfs DIR --), or use an image with a Cmd";
            return null;
        }

        var limits = new ContainerLimits(Pids: parse.GetValue(Pids) ?? 4096, CpuShares: parse.GetValue(CpuShares));
        if (parse.GetValue(Cpus) is { } cpus)
        {
            if (!Units.TryParseCpus(cpus, out var milli, out error))
            {
                error = "--cpus: " + error;
                return null;
            }

            limits = limits with { MilliCpus = milli };
        }

        if (parse.GetValue(Memory) is { } memory)
        {
            if (!DockerSize(memory, out var bytes) && !Units.TryParseSize(memory, out bytes, out error))
            {
                error = "--memory: " + error + "; or docker's lowercase 512m";
                return null;
            }

            limits = limits with { MemoryBytes = bytes };
        }

        TimeSpan? timeout = null;
        if (parse.GetValue(Timeout) is { } t)
        {
            if (!Units.TryParseDuration(t, out var d, out error))
            {
                error = "--timeout: " + error;
                return null;
            }

            timeout = d;
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = "/root",
            ["HOSTNAME"] = parse.GetValue(Hostname)!,
        };
        foreach (var (name, value) in config.Environment())
        {
            env[name] = value;
        }

        foreach (var e in parse.GetValue(EnvVars) ?? [])
        {
            var eq = e.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"--env '{e}' must be NAME=VALUE";
                return null;
            }

            env[e[..eq]] = e[(eq + 1)..];
        }

        var mounts = imageMounts;
        foreach (var v in parse.GetValue(Volumes) ?? [])
        {
            var parts = v.Split(':');
            if (parts.Length is < 2 or > 3 || !parts[1].StartsWith('/') || (parts.Length == 3 && parts[2] is not ("ro" or "rw")))
            {
                error = $"--volume '{v}' must be SRC:DST or SRC:DST:ro, with DST absolute";
                return null;
            }

            if (!Path.Exists(parts[0]))
            {
                error = $"--volume '{v}': {Path.GetFullPath(parts[0])} does not exist";
                return null;
            }

            mounts.Add(new BindMount(Path.GetFullPath(parts[0]), parts[1], parts.Length == 3 && parts[2] == "ro"));
        }

        var user = parse.GetValue(User) ?? config.User;
        if (!UserIds.TryParse(user, out var uid, out var gid))
        {
            error = $"user '{user}' must be {UserIds.Expected}";
            return null;
        }

        return new ContainerSpec
        {
            Layers = layers,
            Command = command,
            Env = env,
            WorkingDirectory = parse.GetValue(Workdir) ?? config.WorkingDir ?? "/",
            Uid = uid,
            Gid = gid,
            Hostname = parse.GetValue(Hostname)!,
            Mounts = mounts,
            Limits = limits,
            Network = parse.GetValue(Network) == "host" ? ContainerNetwork.Host : ContainerNetwork.None,
            Timeout = timeout,
            Init = parse.GetValue(InitOption),
        };
    }
}
