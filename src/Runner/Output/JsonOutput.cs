using System.Text.Json;
using System.Text.Json.Serialization;
using Ci.Pipeline.Diagnostics;

namespace Ci.Runner.Output;

/// <summary>The one JSON shape of the CLI: camelCase names, enums as strings, durations in seconds.</summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new SecondsConverter() },
    };

    public static object Describe(Diagnostic d) => new
    {
        file = d.Position.File,
        line = d.Position.Line,
        column = d.Position.Column,
        severity = d.IsError ? "error" : "warning",
        code = d.Code,
        message = d.Message,
    };

    public static void Write(TextWriter writer, object value) => writer.WriteLine(JsonSerializer.Serialize(value, Options));

    private sealed class SecondsConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TimeSpan.FromSeconds(reader.GetDouble());

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(value.TotalSeconds);
    }
}
