using Ci.Pipeline.Secrets;
using Ci.Runner.Output;
using Serilog;
using Serilog.Formatting.Display;

namespace Ci.Runner.Tests.Output;

/// <summary>The -v diagnostic log goes through the run's masker, as the terminal view and --json do.</summary>
public sealed class MaskedLogSinkTests
{
    [Test]
    public void A_secret_in_a_log_message_or_its_exception_is_masked()
    {
        var masker = new SecretMasker();
        var output = new StringWriter();
        using var log = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.Sink(new MaskedLogSink(masker, output, new MessageTemplateTextFormatter("{Level:u3} {Message:lj}{NewLine}{Exception}")))
            .CreateLogger();

        // Added after the logger is made, as exec learns the run's secrets after the log is set up.
        masker.Add("tok-3f9a-secret-value");
        log.Debug("Running {Command}", "curl -H 'Authorization: tok-3f9a-secret-value'");
        log.Warning(new InvalidOperationException("bad token tok-3f9a-secret-value"), "Failed with {Header}", "dG9rLTNmOWEtc2VjcmV0LXZhbHVl");

        Assert.That(output.ToString(), Does.Not.Contain("tok-3f9a-secret-value").And.Not.Contain("dG9rLTNmOWEtc2VjcmV0LXZhbHVl"));
        Assert.That(output.ToString(), Does.Contain("DBG Running curl -H 'Authorization: ***'").And.Contain("bad token ***"));
    }
}
