using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Backends.Containers;

/// <summary>
/// A job's services, run for real: containers from an image in the store (busybox, imported as
/// <c>localhost/box:1</c>), started before the first step in the job's network, checked for
/// readiness, reached from the steps by their aliases, kept with the run, and gone afterwards.
/// </summary>
public sealed class ServiceTests : ExecFixture
{
    private const string Image = BusyboxImage;
    private string _state = null!;

    [OneTimeSetUp]
    public async Task ImportImageAsync()
    {
        if (!File.Exists("/bin/busybox") || !File.Exists("/usr/lib/cni/ptp"))
        {
            Assert.Ignore("needs busybox-static and containernetworking-plugins (.ci/run installs them)");
        }

        _state = NewState("services");
        await ImportBusyboxAsync(_state);
    }

    [Test, CancelAfter(120_000)]
    public async Task Services_are_ready_before_the_first_step_and_every_step_reaches_them_by_their_aliases(CancellationToken ct)
    {
        var repo = await RepositoryAsync($$"""
            image: {{Image}}
            jobs:
              test:
                services:
                  - image: {{Image}}
                    alias: web
                    command: [sh, -c, "echo web starting; mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www"]
                    readiness: { http: "http://web:8080/", interval: 100ms }
                  - image: {{Image}}
                    alias: echo
                    command: [sh, -c, "sleep 0.5; exec nc -ll -p 7000 -e cat"]
                    readiness: { tcp: 7000, interval: 100ms }
                steps:
                  - run: wget -q -O - http://web:8080/
                  - run: echo ping | nc -w 1 echo 7000
            """);

        var run = await ExecInAsync(_state, repo);
        var logs = await Runner(_state, "logs", "last", "test", "--service", "web");
        var none = await Runner(_state, "logs", "last", "test", "--service", "db");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardOutput, Does.Contain("[test:1] hello-from-web\n"));
        Assert.That(run.StandardOutput, Does.Contain("[test:2] ping\n"));
        Assert.That(run.StandardError, Does.Match(@"service web ready after \d"));
        Assert.That(run.StandardError, Does.Match(@"service echo ready after \d"));
        Assert.That(run.StandardOutput, Does.Not.Contain("web starting"), "a service's output is kept with the run, not shown live");
        Assert.That(logs.StandardOutput, Is.EqualTo("[test:web] web starting\n"), logs.StandardError);
        Assert.That(none.ExitCode, Is.EqualTo(2));
        Assert.That(none.StandardError, Does.Match("^runner: job 'test' of run [0-9]+ has no service 'db' that printed anything; its services: web\n$"));
        Assert.That(Ci.Tests.Shared.HostProcesses.WithCommandLine("httpd -f -p 8080"), Is.Empty, "the service is stopped after the job");
    }

    [Test, CancelAfter(120_000)]
    public async Task A_service_that_is_never_ready_fails_the_job_with_its_check_and_its_last_lines(CancellationToken ct)
    {
        var repo = await RepositoryAsync($$"""
            image: {{Image}}
            jobs:
              test:
                services:
                  - image: {{Image}}
                    alias: db
                    command: [sh, -c, "echo could not open the data directory >&2; exec sleep 600"]
                    readiness: { tcp: 5432, interval: 200ms, timeout: 2s }
                steps:
                  - run: echo the step ran
            """);

        var run = await ExecInAsync(_state, repo);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.StandardError);
        Assert.That(run.StandardOutput, Does.Not.Contain("the step ran"));
        Assert.That(run.StandardError, Does.Contain($"service 'db' ({Image}) was not ready after"));
        Assert.That(run.StandardError, Does.Contain("tcp 5432: connection refused"));
        Assert.That(run.StandardError, Does.Contain("could not open the data directory"), "its last lines");
        Assert.That(Ci.Tests.Shared.HostProcesses.WithCommandLine("sleep 600"), Is.Empty, "the service is stopped");
    }

    [Test, CancelAfter(180_000)]
    public async Task The_first_service_that_is_not_ready_fails_the_job_without_waiting_for_the_others(CancellationToken ct)
    {
        // 'slow' would be checked for 90 s and then reported not ready; the job fails as soon as 'db' gives up, and slow's checks stop.
        var repo = await RepositoryAsync($$"""
            image: {{Image}}
            jobs:
              test:
                services:
                  - image: {{Image}}
                    alias: slow
                    command: [sleep, "600"]
                    readiness: { tcp: 7777, interval: 500ms, timeout: 90s, retries: 1000 }
                  - image: {{Image}}
                    alias: db
                    command: [sleep, "600"]
                    readiness: { tcp: 5432, interval: 200ms, timeout: 1s }
                steps:
                  - run: echo the step ran
            """);

        var run = await ExecInAsync(_state, repo);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.StandardError);
        Assert.That(run.StandardError, Does.Contain("failed: service 'db'"));
        Assert.That(run.StandardError, Does.Not.Contain("service slow was not ready"), "the other service's checks stopped with the job, not at their own timeout");
        Assert.That(Ci.Tests.Shared.HostProcesses.WithCommandLine("sleep 600"), Is.Empty, "both services are stopped");
    }

    [Test, CancelAfter(120_000)]
    public async Task A_service_that_ends_during_the_job_is_said_in_the_step_output_and_the_summary(CancellationToken ct)
    {
        var repo = await RepositoryAsync($$"""
            image: {{Image}}
            jobs:
              test:
                services:
                  - image: {{Image}}
                    alias: db
                    command: [sh, -c, "sleep 1; echo out of disk space >&2; exit 3"]
                steps:
                  - run: sleep 3; nc -w 1 db 5432 </dev/null || exit 7
            """);

        var run = await ExecInAsync(_state, repo);

        Assert.That(run.ExitCode, Is.EqualTo(1), run.StandardError);
        Assert.That(run.StandardError, Does.Contain("[test:1] runner: service 'db' exited with code 3 while this step ran"));
        Assert.That(run.StandardError, Does.Contain("service db exited with code 3 during the job; its last lines:"));
        Assert.That(run.StandardOutput, Does.Match(@"\ntest\s+FAILED\s+\S+\s+service db exited with code 3 during the job\n"), "the summary says why");
    }

    [Test, CancelAfter(120_000)]
    public async Task After_a_kill_9_of_the_runner_the_next_start_leaves_no_service_network_lease_or_rule(CancellationToken ct)
    {
        var state = NewState("killed");
        await ImportBusyboxAsync(state);
        var repo = await RepositoryAsync($$"""
            image: {{Image}}
            jobs:
              test:
                services:
                  - image: {{Image}}
                    alias: db
                    command: [sh, -c, "exec sleep 4242"]
                steps:
                  - run: echo step-started; ip -4 -o addr show eth0; sleep 4343
            """);
        var output = new System.Text.StringBuilder();
        var started = new TaskCompletionSource();
        using var kill = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var runner = RunnerCommand(state, "exec", "-C", repo)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line =>
            {
                lock (output)
                {
                    output.AppendLine(line);
                }

                if (line.Contains("inet ", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                }
            }))
            .ExecuteAsync(CancellationToken.None, kill.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        var address = System.Text.RegularExpressions.Regex.Match(output.ToString(), @"inet (\d+\.\d+\.\d+\.\d+)/").Groups[1].Value;
        var lease = Path.Combine("/run/runner-network/ipam/runner", address);
        Assert.That(File.Exists(lease), Is.True, $"the job's lease while it runs\n{output}");

        await CliWrap.Cli.Wrap("kill").WithArguments(["-KILL", runner.ProcessId.ToString()]).ExecuteAsync(ct);
        try
        {
            await runner;
        }
        catch (CliWrap.Exceptions.CommandExecutionException)
        {
            // killed, as the test meant
        }

        var next = await ExecInAsync(state, await RepositoryAsync($"image: {Image}\njobs:\n  t:\n    network: none\n    steps: [\"true\"]\n"));

        Assert.That(next.ExitCode, Is.EqualTo(0), next.StandardError);
        Assert.That(Ci.Tests.Shared.HostProcesses.WithCommandLine("sleep 4242"), Is.Empty, "the service");
        Assert.That(Ci.Tests.Shared.HostProcesses.WithCommandLine("sleep 4343"), Is.Empty, "the step");
        Assert.That(File.Exists(lease), Is.False, "the address lease");
        var routes = await CliWrap.Cli.Wrap("ip").WithArguments(["route"]).ExecuteBufferedAsync(ct);
        Assert.That(routes.StandardOutput, Does.Not.Contain(address + " "), "the host's route (and veth) to the job");
        var nat = await CliWrap.Cli.Wrap("iptables").WithArguments(["-t", "nat", "-S", "POSTROUTING"]).ExecuteBufferedAsync(ct);
        Assert.That(nat.StandardOutput, Does.Not.Contain(address + "/32"), "the job's NAT rule");
        Assert.That(Directory.EnumerateFiles(Path.Combine(state, "n"), "*", SearchOption.AllDirectories), Is.Empty, "namespace files and records");
        Assert.That(File.ReadAllText("/proc/self/mountinfo"), Does.Not.Contain(Path.Combine(state, "n")), "namespace mounts");
    }

    [Test, CancelAfter(120_000)]
    public async Task Two_jobs_run_a_service_on_one_port_at_once(CancellationToken ct)
    {
        string Job(string name) => $$"""
              {{name}}:
                services:
                  - image: {{Image}}
                    alias: web
                    command: [sh, -c, "mkdir -p /www && echo {{name}} > /www/index.html && exec httpd -f -p 8080 -h /www"]
                    readiness: { http: "http://localhost:8080/", interval: 100ms }
                steps:
                  - run: sleep 1; wget -q -O - http://web:8080/
            """;
        var repo = await RepositoryAsync($"image: {Image}\njobs:\n{Job("one")}\n{Job("two")}\n");

        var run = await ExecInAsync(_state, repo); // two jobs at once is the default

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError);
        Assert.That(run.StandardOutput, Does.Contain("[one:1] one\n"));
        Assert.That(run.StandardOutput, Does.Contain("[two:1] two\n"));
    }
}
