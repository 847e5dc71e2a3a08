using System.Buffers;
using System.Text.Json;

namespace Ci.Isolation.Init;

/// <summary>
/// runner-init's side of the spec and result files: the same JSON as <see cref="InitJson"/>
/// (camelCase, which the runtime writes and reads), read through JsonDocument and written through
/// Utf8JsonWriter. The serializer's first use builds its metadata, about 2.5 ms of every container
/// start; these take a tenth of that. Compiled into both sides; a round-trip test holds them to
/// <see cref="InitJson"/>.
/// </summary>
public static class InitWire
{
    public static InitSpec ReadSpec(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var spec = document.RootElement;
        return new InitSpec
        {
            LowerDirs = Strings(spec, "lowerDirs"),
            UpperDir = String(spec, "upperDir"),
            WorkDir = String(spec, "workDir"),
            RootDirectory = String(spec, "rootDirectory") ?? throw new InvalidDataException("the spec has no rootDirectory"),
            ReadOnlyRoot = Bool(spec, "readOnlyRoot"),
            Mounts = Items(spec, "mounts", m => new InitMount(String(m, "source")!, String(m, "target")!, Bool(m, "readOnly"))),
            Overlays = Items(spec, "overlays", o => new InitOverlay(String(o, "target")!, Strings(o, "lowers"), String(o, "upper")!, String(o, "work")!)),
            CgroupProcs = Strings(spec, "cgroupProcs"),
            NewCgroupNamespace = Bool(spec, "newCgroupNamespace"),
            NewNetworkNamespace = Bool(spec, "newNetworkNamespace"),
            HostNetwork = Bool(spec, "hostNetwork"),
            NetworkNamespace = String(spec, "networkNamespace"),
            Hostname = String(spec, "hostname") ?? "runner",
            Args = Strings(spec, "args"),
            Env = Strings(spec, "env"),
            WorkingDirectory = String(spec, "workingDirectory") ?? "/",
            Uid = spec.TryGetProperty("uid", out var uid) ? uid.GetUInt32() : 0,
            Gid = spec.TryGetProperty("gid", out var gid) ? gid.GetUInt32() : 0,
            AdditionalGids = Items(spec, "additionalGids", g => g.GetUInt32()),
            Capabilities = Items(spec, "capabilities", c => c.GetInt32()),
            NoNewPrivileges = !spec.TryGetProperty("noNewPrivileges", out var nnp) || nnp.GetBoolean(),
            Init = Bool(spec, "init"),
            DieWithRunner = Bool(spec, "dieWithRunner"),
            Interactive = Bool(spec, "interactive"),
            StdoutPath = String(spec, "stdoutPath"),
            StderrPath = String(spec, "stderrPath"),
            ResultFile = String(spec, "resultFile") ?? throw new InvalidDataException("the spec has no resultFile"),
        };
    }

    public static byte[] WriteResult(InitResult result)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            Number(writer, "exitCode", result.ExitCode);
            Number(writer, "signal", result.Signal);
            writer.WriteString("error", result.Error);
            writer.WriteString("stage", result.Stage);
            writer.WriteString("operation", result.Operation);
            Number(writer, "errno", result.Errno);
            if (result.ExecutedAt is { } executed)
            {
                writer.WriteNumber("executedAt", executed);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Number(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } n)
        {
            writer.WriteNumber(name, n);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.GetBoolean();

    private static List<string> Strings(JsonElement e, string name) => Items(e, name, s => s.GetString()!);

    private static List<T> Items<T>(JsonElement e, string name, Func<JsonElement, T> item) =>
        e.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array ? array.EnumerateArray().Select(item).ToList() : [];
}
