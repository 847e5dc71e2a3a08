using System.Globalization;
using System.Text;

namespace Ci.Isolation.Init;

/// <summary>
/// runner-init's side of the spec and result files: the same JSON as the runtime's <c>InitJson</c> (camelCase, which the runtime
/// writes and reads), read and written through <see cref="WireJson"/>, not System.Text.Json, whose code would be a third of
/// runner-init. Compiled into both sides; a round-trip test holds them to <c>InitJson</c>.
/// </summary>
public static class InitWire
{
    public static InitSpec ReadSpec(ReadOnlyMemory<byte> json)
    {
        var spec = WireJson.Parse(json.Span) as Dictionary<string, object?> ?? throw new InvalidDataException("the spec is not a JSON object");
        return new InitSpec
        {
            LowerDirs = Strings(spec, "lowerDirs"),
            UpperDir = String(spec, "upperDir"),
            WorkDir = String(spec, "workDir"),
            RootDirectory = String(spec, "rootDirectory") ?? throw new InvalidDataException("the spec has no rootDirectory"),
            ReadOnlyRoot = Bool(spec, "readOnlyRoot"),
            Mounts = Items(spec, "mounts", m => new InitMount(Required(m, "source"), Required(m, "target"), Bool(m, "readOnly"))),
            Overlays = Items(spec, "overlays", o => new InitOverlay(Required(o, "target"), Strings(o, "lowers"), Required(o, "upper"), Required(o, "work"))),
            CgroupProcs = Strings(spec, "cgroupProcs"),
            NewCgroupNamespace = Bool(spec, "newCgroupNamespace"),
            NewNetworkNamespace = Bool(spec, "newNetworkNamespace"),
            HostNetwork = Bool(spec, "hostNetwork"),
            NetworkNamespace = String(spec, "networkNamespace"),
            Hostname = String(spec, "hostname") ?? "runner",
            Args = Strings(spec, "args"),
            Env = Strings(spec, "env"),
            WorkingDirectory = String(spec, "workingDirectory") ?? "/",
            Uid = (uint)Integer(spec, "uid", uint.MaxValue),
            Gid = (uint)Integer(spec, "gid", uint.MaxValue),
            AdditionalGids = List(spec, "additionalGids", (value, name) => (uint)Integer(value, name, uint.MaxValue)),
            Capabilities = List(spec, "capabilities", (value, name) => (int)Integer(value, name, int.MaxValue)),
            NoNewPrivileges = !spec.ContainsKey("noNewPrivileges") || Bool(spec, "noNewPrivileges"),
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
        var json = new StringBuilder(128);
        json.Append("{\"exitCode\":").Append(Number(result.ExitCode));
        json.Append(",\"signal\":").Append(Number(result.Signal));
        json.Append(",\"error\":");
        WireJson.AppendString(json, result.Error);
        json.Append(",\"stage\":");
        WireJson.AppendString(json, result.Stage);
        json.Append(",\"operation\":");
        WireJson.AppendString(json, result.Operation);
        json.Append(",\"errno\":").Append(Number(result.Errno));
        if (result.ExecutedAt is { } executed)
        {
            json.Append(",\"executedAt\":").Append(executed.ToString(CultureInfo.InvariantCulture));
        }

        return Encoding.UTF8.GetBytes(json.Append('}').ToString());
    }

    private static string Number(int? value) => value is { } n ? n.ToString(CultureInfo.InvariantCulture) : "null";

    /// <summary>A member that is a string; null when absent or null.</summary>
    private static string? String(Dictionary<string, object?> o, string name) => o.GetValueOrDefault(name) switch
    {
        null => null,
        string s => s,
        _ => throw new InvalidDataException($"{name} is not a string"),
    };

    private static string Required(Dictionary<string, object?> o, string name) => String(o, name) ?? throw new InvalidDataException($"{name} is missing");

    private static bool Bool(Dictionary<string, object?> o, string name) => o.GetValueOrDefault(name) switch
    {
        null => false,
        bool b => b,
        _ => throw new InvalidDataException($"{name} is not true or false"),
    };

    private static long Integer(Dictionary<string, object?> o, string name, long max) => Integer(o.GetValueOrDefault(name) ?? 0L, name, max);

    private static long Integer(object? value, string name, long max) =>
        value is long n && n >= 0 && n <= max ? n : throw new InvalidDataException($"{name} is not an integer from 0 to {max}");

    private static List<string> Strings(Dictionary<string, object?> o, string name) =>
        List(o, name, (value, _) => value as string ?? throw new InvalidDataException($"{name} holds something other than a string"));

    private static List<T> Items<T>(Dictionary<string, object?> o, string name, Func<Dictionary<string, object?>, T> item) =>
        List(o, name, (value, _) => item(value as Dictionary<string, object?> ?? throw new InvalidDataException($"{name} holds something other than an object")));

    private static List<T> List<T>(Dictionary<string, object?> o, string name, Func<object?, string, T> item)
    {
        var items = new List<T>();
        switch (o.GetValueOrDefault(name))
        {
            case null:
                return items;
            case List<object?> values:
                foreach (var value in values)
                {
                    items.Add(item(value, name));
                }

                return items;
            default:
                throw new InvalidDataException($"{name} is not a list");
        }
    }
}
