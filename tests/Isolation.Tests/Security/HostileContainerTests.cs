using Ci.Isolation.Containers;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Security;

/// <summary>Issue 10, item 6: whatever its network, a container reaches no host cgroup through /sys. Real containers, as root.</summary>
[Category("Security")]
public sealed class HostileContainerTests : ContainerFixture
{
    private const string Probe = """
        awk '$5 ~ "^/sys" { print "mount", $5, $6 }' /proc/self/mountinfo
        echo "cgroup-entries $(ls /sys/fs/cgroup | wc -l)"
        for f in /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cgroup.procs /sys/kernel/mm/transparent_hugepage/enabled; do
          (echo 1 > $f) 2>/dev/null && echo "wrote $f"
        done
        echo done
        """;

    [Test, CancelAfter(60_000)]
    public async Task Under_an_init_the_command_cannot_read_the_inits_memory_which_is_a_copy_of_the_launchers(CancellationToken ct)
    {
        // The launcher made a container with a secret a moment ago: its spec (the environment) was on the launcher's heap,
        // and PID 1 under --init is a clone of the launcher that never execs.
        await Host.RunAsync(Host.Spec("true") with { Env = new Dictionary<string, string> { ["OTHER_JOBS_SECRET"] = "s3cr3t-of-another-job" } }, ct);
        var spec = Host.Spec("/bin/sh", "-c",
            "for f in mem maps environ; do if (exec 3</proc/1/$f) 2>/dev/null; then echo \"$f readable\"; fi; done; echo done") with { Init = true };

        var run = await Host.RunAsync(spec, ct);

        Assert.That(run.Stdout, Is.EqualTo("done"), "the init is not dumpable: not even the container's root may open its memory, maps or environment");
    }

    [Test, CancelAfter(30_000)]
    public async Task Every_sys_mount_is_read_only_and_no_host_cgroup_is_reachable_with_the_host_network() => await AssertSysIsClosedAsync(ContainerNetwork.Host);

    [Test, CancelAfter(30_000)]
    public async Task Every_sys_mount_is_read_only_and_no_host_cgroup_is_reachable_with_a_private_network() => await AssertSysIsClosedAsync(ContainerNetwork.None);

    private async Task AssertSysIsClosedAsync(ContainerNetwork network)
    {
        var run = await Host.RunAsync(Host.Spec("/bin/sh", "-c", Probe) with { Network = network });

        var mounts = run.Stdout.Split('\n').Where(l => l.StartsWith("mount ", StringComparison.Ordinal)).ToList();
        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(mounts, Is.Not.Empty, run.Stdout);
            Assert.That(mounts.Where(m => !m.Split(' ')[2].Split(',').Contains("ro")), Is.Empty, "every mount under /sys is read-only");
            Assert.That(run.Stdout, Does.Contain("cgroup-entries 0"), "no host cgroup hierarchy is mounted under /sys/fs/cgroup");
            Assert.That(run.Stdout, Does.Not.Contain("wrote "));
            Assert.That(run.Stdout, Does.EndWith("done\n").Or.EndWith("done"));
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task Seccomp_is_an_allow_list_io_uring_and_read_implies_exec_are_refused_and_unknown_calls_say_enosys(CancellationToken ct)
    {
        var probe = await Host.CompileStaticAsync("seccomp-probe", """
            #include <errno.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/personality.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            static void try(const char *name, long r) { printf("%s %s\n", name, r == -1 ? strerrorname_np(errno) : "ok"); }
            int main(void) {
                long params[30] = {0};
                try("io_uring_setup", syscall(425, 8, params));
                try("read_implies_exec", syscall(SYS_personality, 0x0400000UL));
                try("per_linux", syscall(SYS_personality, 0UL));
                try("query", syscall(SYS_personality, 0xffffffffUL));
                try("unknown_500", syscall(500));
                try("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0));
                try("unshare", syscall(SYS_unshare, 0x00020000));
                try("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
                try("getpid", syscall(SYS_getpid));
                try("openat2", syscall(437, -100, "/", 0, 0)); /* allowed: EINVAL for a zero-sized how, not EPERM */
                try("futex_wake", syscall(454, 0, 0, 0, 0)); /* allowed, newer than the headers */
                return 0;
            }
            """, ct);

        var run = await Host.RunAsync(Host.Spec("/probe") with { Mounts = [new BindMount(probe, "/probe", ReadOnly: true)] }, ct);

        Assert.That(run.Result.ExitCode, Is.EqualTo(0), run.ToString());
        var answers = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1]);
        Assert.Multiple(() =>
        {
            Assert.That(answers["io_uring_setup"], Is.EqualTo("EPERM"), "podman and Docker refuse io_uring");
            Assert.That(answers["read_implies_exec"], Is.EqualTo("EPERM"));
            Assert.That(answers["per_linux"], Is.EqualTo("ok"));
            Assert.That(answers["query"], Is.EqualTo("ok"));
            Assert.That(answers["unknown_500"], Is.EqualTo("ENOSYS"), "a call newer than the table looks absent, so libc falls back");
            Assert.That(answers["mount"], Is.EqualTo("EPERM"));
            Assert.That(answers["unshare"], Is.EqualTo("EPERM"));
            Assert.That(answers["keyctl"], Is.EqualTo("EPERM"));
            Assert.That(answers["getpid"], Is.EqualTo("ok"));
            Assert.That(answers["openat2"], Is.EqualTo("EINVAL").Or.EqualTo("EFAULT"));
            Assert.That(answers["futex_wake"], Is.Not.EqualTo("EPERM"));
        });
    }
}
