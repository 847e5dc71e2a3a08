using Ci.Pipeline.Secrets;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Ci.Runner.Output;

/// <summary>
/// The diagnostic log (<c>-v</c>) on standard error, masked as the run's view is: a message that
/// carries a secret's value (an exception's text, a command line) shows <c>***</c> instead.
/// Each event is rendered whole first, so a value split across properties is still found.
/// </summary>
internal sealed class MaskedLogSink(SecretMasker masker, TextWriter writer, ITextFormatter formatter) : ILogEventSink
{
    private readonly Lock _lock = new();

    public void Emit(LogEvent logEvent)
    {
        using var text = new StringWriter();
        formatter.Format(logEvent, text);
        var masked = masker.Apply(text.ToString());
        lock (_lock)
        {
            writer.Write(masked);
        }
    }
}
