using System.Text;
using CliWrap;

namespace Ci.Runner.Tests.Server;

/// <summary>
/// <c>runner serve</c> as a process, as an operator starts it: the published binary with a
/// configuration file; ready when /healthz answers. Stopped with SIGINT (as SIGTERM) or killed with SIGKILL.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly CancellationTokenSource _graceful = new();
    private readonly CancellationTokenSource _forceful = new();
    private readonly StringBuilder _log = new();
    private CommandTask<CommandResult>? _task;

    /// <param name="https">Reached over https with this client (one that trusts the test's certificate).</param>
    public ServerProcess(int port, HttpClient? https = null)
    {
        Port = port;
        Url = $"{(https is null ? "http" : "https")}://127.0.0.1:{port}/";
        Http = https ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public string Url { get; }

    public HttpClient Http { get; }

    /// <summary>What the server logged so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async Task StartAsync(Command command)
    {
        void Append(string line)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }

        _task = command.WithStandardErrorPipe(PipeTarget.ToDelegate(Append)).WithStandardOutputPipe(PipeTarget.ToDelegate(Append))
            .ExecuteAsync(_forceful.Token, _graceful.Token);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_task.Task.IsCompleted)
            {
                throw new InvalidOperationException($"runner serve exited at start ({(await _task).ExitCode}):\n{Log}");
            }

            try
            {
                if ((await Http.GetAsync(Url + "healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"runner serve did not answer /healthz in 30 s:\n{Log}");
    }

    /// <summary>SIGTERM, as systemd stops a service; its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await CliWrap.Cli.Wrap("kill").WithArguments(["-TERM", _task!.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]).ExecuteAsync();
        return (await _task).ExitCode;
    }

    /// <summary>kill -9: no clean-up at all.</summary>
    public async Task KillAsync()
    {
        System.Diagnostics.Process.GetProcessById(_task!.ProcessId).Kill();
        try
        {
            await _task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_task is { Task.IsCompleted: false })
        {
            await _forceful.CancelAsync();
            try
            {
                await _task;
            }
            catch (OperationCanceledException)
            {
            }
        }

        Http.Dispose();
        _graceful.Dispose();
        _forceful.Dispose();
    }
}
