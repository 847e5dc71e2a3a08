using System.Text.Json;
using Ci.Isolation.Init;

namespace Ci.Isolation.Tests.Containers;

/// <summary>runner-init reads the spec and writes the result by hand (InitWire); the runtime uses the serializer (InitJson). They must agree on every field.</summary>
public sealed class InitWireTests
{
    private static readonly InitSpec Full = new()
    {
        LowerDirs = ["/s/init/abc", "/s/l/1"],
        UpperDir = "/s/u",
        WorkDir = "/s/w",
        RootDirectory = "/s/r",
        ReadOnlyRoot = true,
        Mounts = [new InitMount("/host/a", "/a", true), new InitMount("/host/b", "/b", false)],
        Overlays = [new InitOverlay("/root/.npm", ["/c/l1", "/c/l2"], "/c/u", "/c/w")],
        CgroupProcs = ["/sys/fs/cgroup/pids/x/cgroup.procs"],
        NewCgroupNamespace = true,
        NewNetworkNamespace = true,
        HostNetwork = true,
        NetworkNamespace = "/s/n/1/ns",
        Hostname = "job-1",
        Args = ["/bin/sh", "-c", "echo \"quoted\" \\ and ünïcode"],
        Env = ["PATH=/bin", "SECRET=a=b"],
        WorkingDirectory = "/workspace",
        Uid = 1000,
        Gid = 1001,
        AdditionalGids = [4, 27],
        Capabilities = [0, 5, 31],
        NoNewPrivileges = false,
        Init = true,
        DieWithRunner = true,
        Interactive = true,
        StdoutPath = "/s/o",
        StderrPath = "/s/e",
        ResultFile = "/s/result.json",
    };

    [Test]
    public void The_sample_sets_every_field_away_from_its_default_so_that_a_new_field_must_be_added_here()
    {
        var defaults = new InitSpec { RootDirectory = "", Args = [], ResultFile = "" };
        var unset = typeof(InitSpec).GetProperties()
            .Where(p => JsonSerializer.Serialize(p.GetValue(Full)) == JsonSerializer.Serialize(p.GetValue(defaults)))
            .Select(p => p.Name);

        Assert.That(unset, Is.Empty);
    }

    [Test]
    public void A_spec_written_by_the_runtime_reads_back_whole()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(Full, InitJson.Default.InitSpec);

        var read = InitWire.ReadSpec(json);

        Assert.That(JsonSerializer.Serialize(read, InitJson.Default.InitSpec), Is.EqualTo(JsonSerializer.Serialize(Full, InitJson.Default.InitSpec)));
    }

    [Test]
    public void Strings_that_need_escaping_read_back_as_they_were_written()
    {
        string[] hostile = ["quote \" backslash \\ slash /", "tab\tnewline\ncarriage\rbell\u0007nul-less\u001f",
            "<script>&'</script>", "ünïcödé 日本 😀", "\u2028\u2029", ""];
        var spec = Full with { Args = hostile, Env = [.. hostile.Select(h => "V=" + h)], Hostname = "😀<&>" };

        var read = InitWire.ReadSpec(JsonSerializer.SerializeToUtf8Bytes(spec, InitJson.Default.InitSpec));

        Assert.That(read.Args, Is.EqualTo(hostile));
        Assert.That(read.Env, Is.EqualTo(spec.Env));
        Assert.That(read.Hostname, Is.EqualTo("😀<&>"));
    }

    [TestCase("{\"rootDirectory\":\"/r\",\"resultFile\":\"/f\",\"args\":[\"a\",]}", "byte 52: expected a value")]
    [TestCase("{\"rootDirectory\":\"/r\",\"rootDirectory\":\"/s\"}", "'rootDirectory' twice")]
    [TestCase("{\"rootDirectory\":\"/r\",\"resultFile\":\"/f\",\"uid\":1.5}", "not an integer")]
    [TestCase("{\"rootDirectory\":\"/r\",\"resultFile\":\"/f\",\"uid\":-1}", "uid is not an integer from 0 to 4294967295")]
    [TestCase("{\"rootDirectory\":\"/r\",\"resultFile\":\"/f\",\"args\":\"sh\"}", "args is not a list")]
    [TestCase("{\"rootDirectory\":\"/r\",\"resultFile\":\"/f\",\"init\":\"yes\"}", "init is not true or false")]
    [TestCase("{\"rootDirectory\":\"/r\",\"resultFile\":\"/f\",\"hostname\":\"a\\qb\"}", "an unknown escape")]
    [TestCase("{\"rootDirectory\":\"/r\"", "unexpected end")]
    [TestCase("{\"resultFile\":\"/f\"}", "the spec has no rootDirectory")]
    [TestCase("[]", "the spec is not a JSON object")]
    [TestCase("{} {}", "text after the document")]
    public void A_spec_that_is_not_what_the_runtime_writes_is_refused_with_where(string json, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => InitWire.ReadSpec(System.Text.Encoding.UTF8.GetBytes(json)));

        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [TestCase(0, null, null)]
    [TestCase(null, 9, null)]
    [TestCase(null, null, "exec /nope: No such file or directory \"x\"")]
    [TestCase(null, null, "mount(overlay → /x\\y): tab\there, bell\u0007, newline\n, 😀 <&>")]
    public void A_result_written_by_runner_init_reads_back_in_the_runtime(int? exitCode, int? signal, string? error)
    {
        var result = new InitResult(exitCode, signal, error) with
        {
            Stage = error is null ? null : InitStage.Setup,
            Operation = error is null ? null : "mount(overlay → /x/rootfs)",
            Errno = error is null ? null : 22,
        };

        var read = JsonSerializer.Deserialize(InitWire.WriteResult(result), InitJson.Default.InitResult);

        Assert.That(read, Is.EqualTo(result));
    }
}
