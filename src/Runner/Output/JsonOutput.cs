using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;

namespace Ci.Runner.Output;

/// <summary>A diagnostic as tools read it.</summary>
internal sealed record DiagnosticOutput(string File, int Line, int Column, string Severity, string Code, string Message)
{
    public static DiagnosticOutput From(Diagnostic d) =>
        new(d.Position.File, d.Position.Line, d.Position.Column, d.IsError ? "error" : "warning", d.Code, d.Message);
}

internal sealed record ValidateOutput(string File, bool Valid, int Errors, int Warnings, int? Jobs, IReadOnlyList<DiagnosticOutput> Diagnostics);

/// <summary>An image of the store; its size is what its layers take unpacked (null when one is missing).</summary>
internal sealed record ImageOutput(string Name, IReadOnlyList<string> Layers, DateTimeOffset Created, long? Size);

internal sealed record PlanOutput(string File, bool Valid, IReadOnlyList<DiagnosticOutput> Diagnostics, ExecutionPlan? Plan);

/// <summary>
/// The one JSON shape of the CLI: camelCase names, enums as snake_case strings, durations in
/// seconds, no escaping of ordinary punctuation. Source-generated, so the runner publishes as
/// NativeAOT (a fast start).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(JsonOutput.Seconds), typeof(JsonOutput.Snake<TriggerEvent>), typeof(JsonOutput.Snake<NetworkMode>),
        typeof(JsonOutput.Snake<CachePolicy>), typeof(JsonOutput.Snake<ArtifactsWhen>), typeof(JsonOutput.Snake<Ci.Runner.Engine.RunStatus>)])]
[JsonSerializable(typeof(ValidateOutput))]
[JsonSerializable(typeof(PlanOutput))]
[JsonSerializable(typeof(List<ImageOutput>))]
[JsonSerializable(typeof(Ci.Isolation.Images.Image))]
[JsonSerializable(typeof(List<Ci.Runner.Engine.Records.RunSummary>))]
[JsonSerializable(typeof(Ci.Runner.Engine.RunEvent))]
internal sealed partial class JsonOutput : JsonSerializerContext
{
    private static JsonOutput? _relaxed;
    private static JsonOutput? _lines;

    private static JsonOutput Relaxed => _relaxed ??= new(new JsonSerializerOptions(Default!.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static JsonOutput Lines => _lines ??= new(new JsonSerializerOptions(Relaxed.Options) { WriteIndented = false });

    /// <summary>One event as one line of JSON (JSON Lines), for tools that follow a run.</summary>
    public static string Line(Ci.Runner.Engine.RunEvent value) => JsonSerializer.Serialize(value, Lines.RunEvent);

    public static void Write(TextWriter writer, ValidateOutput value) => writer.WriteLine(JsonSerializer.Serialize(value, Relaxed.ValidateOutput));

    public static void Write(TextWriter writer, PlanOutput value) => writer.WriteLine(JsonSerializer.Serialize(value, Relaxed.PlanOutput));

    public static void Write(TextWriter writer, Ci.Isolation.Images.Image value) => writer.WriteLine(JsonSerializer.Serialize(value, Relaxed.Image));

    public static void Write(TextWriter writer, List<Ci.Runner.Engine.Records.RunSummary> value) => writer.WriteLine(JsonSerializer.Serialize(value, Relaxed.ListRunSummary));

    public static void Write(TextWriter writer, List<ImageOutput> value) => writer.WriteLine(JsonSerializer.Serialize(value, Relaxed.ListImageOutput));

    internal sealed class Seconds : JsonConverter<System.TimeSpan>
    {
        public override System.TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            System.TimeSpan.FromSeconds(reader.GetDouble());

        public override void Write(Utf8JsonWriter writer, System.TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(value.TotalSeconds);
    }

    internal sealed class Snake<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower)
        where T : struct, Enum;
}
