using System.CommandLine;
using Ci.Pipeline.Secrets;
using Ci.Runner.Server;
using Ci.Runner.Server.Config;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;

namespace Ci.Runner.Cli;

/// <summary>
/// <c>runner serve --config FILE</c>: the CI server. Reads and checks the configuration (every
/// problem at once, with its line), then runs <see cref="RunnerServer"/> until SIGTERM or Ctrl-C:
/// the first stops taking hooks and gives running runs the configured grace, leaving the rest
/// queued; a second stops at once (what ran is run again at the next start).
/// </summary>
internal static class ServeCommand
{
    private static readonly Option<string> Config = new("--config", "-c") { Description = "The server's configuration file (docs/server.md)", Required = true };
    private static readonly Option<string> LogFormat = new("--log-format")
    {
        Description = "How the server's log is written: text (for a terminal) or json (one object a line, for a log collector)",
        DefaultValueFactory = _ => "text",
    };

    public static Command Create(SecretMasker masker)
    {
        LogFormat.AcceptOnlyFromAmong("text", "json");
        var command = new Command("serve", "Run pipelines as a CI server: git webhooks in, commit statuses out, a web page for every run");
        command.Options.Add(Config);
        command.Options.Add(LogFormat);
        command.SetAction((parse, ct) => RunAsync(parse, masker));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, SecretMasker masker)
    {
        var path = parse.GetValue(Config)!;
        var (config, diagnostics) = ServerConfigReader.Read(path, Environment.GetEnvironmentVariables());
        foreach (var d in diagnostics)
        {
            await Console.Error.WriteLineAsync(d.ToString());
        }

        if (config is null)
        {
            return ExitCodes.InvalidInput;
        }

        // Every secret of the configuration is masked in the server's log, whatever logs it.
        foreach (var secret in Secrets(config))
        {
            masker.Add(secret);
        }

        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Is(GlobalOptions.IsVerbose(parse) ? LogEventLevel.Debug : LogEventLevel.Information)
            .WriteTo.Sink(new Output.MaskedLogSink(masker, Console.Error, parse.GetValue(LogFormat) == "json"
                ? new JsonFormatter(renderMessage: true)
                : new MessageTemplateTextFormatter("{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}")))
            .CreateLogger();
        using var host = new RunnerHost(() => config.StateDirectory is { } state
            ? Settings.RunnerSettings.FromEnvironment() with { StateDirectory = state }
            : Settings.RunnerSettings.FromEnvironment());
        await using var server = new RunnerServer(config, host, (reference, ct) => ImageCommand.PullOrThrowAsync(host, reference, quiet: true, ct), Log.Logger);
        try
        {
            await server.StartAsync();
        }
        catch (Engine.BackendException ex)
        {
            await Console.Error.WriteLineAsync($"runner: {ex.Message}");
            return ExitCodes.InternalError;
        }
        catch (IOException ex) when (ex.InnerException is System.Net.Sockets.SocketException || ex.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync($"runner: cannot listen on {config.Listen}: {ex.Message}");
            return ExitCodes.InvalidInput;
        }

        var stopped = new TaskCompletionSource();
        await using (Interrupts.Graceful.Register(() => stopped.TrySetResult()))
        {
            await stopped.Task;
        }

        Log.Information("Stopping: no new hooks; running runs get {Grace} to end, the rest stays queued", config.ShutdownGrace);
        await server.StopAsync(Interrupts.Forceful);
        return ExitCodes.Ok;
    }

    private static IEnumerable<string> Secrets(ServerConfig config) =>
        new[] { config.AdminToken, config.ViewToken }
            .Concat(config.Repositories.SelectMany(r => new[] { r.WebhookSecret, r.ClonePassword, r.Status?.Token }.Concat(r.Secrets.Values)))
            .OfType<ConfigSecret>().Select(s => s.Value);
}
