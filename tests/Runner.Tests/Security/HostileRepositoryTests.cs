using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Security;

/// <summary>
/// Issue 10, items 1, 2, 5 and 12: a repository and what its steps make are hostile input. Links
/// are copied as links and never followed on the host, a crafted git tree is refused before a file
/// of it is written, an include cannot read a host file, and a fifo never hangs the runner. Real
/// repositories, real containers, the published binary, as root.
/// </summary>
[Category("Security")]
public sealed class HostileRepositoryTests : ExecFixture
{
    private string HostDirectory()
    {
        var dir = Directory.CreateDirectory(Path.Combine(Dir, "host-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.WriteAllText(Path.Combine(dir, "inc.yml"), "HOST-SECRET-LINE: [unclosed\njobs:\n  evil:\n    steps: [\"echo HOST-INCLUDE-RAN\"]\n");
        return dir;
    }

    [Test, CancelAfter(180_000)]
    public async Task Artifacts_keep_links_as_links_and_never_copy_what_they_point_to(CancellationToken ct)
    {
        var state = NewState("artifact-links");
        var repo = await RepositoryAsync($$"""
            jobs:
              build:
                steps:
                  - run: mkdir -p out && ln -s /etc/shadow out/s && ln -s / out/r && ln -s {{state}} out/state && mkfifo out/fifo && echo ok > out/ok.txt
                artifacts: { paths: ["out/**"] }
              use:
                needs: [build]
                steps:
                  - run: cat out/ok.txt && readlink out/s && test ! -e out/fifo && echo no-fifo
            """);
        Directory.CreateDirectory(Path.Combine(repo, "out"));
        File.CreateSymbolicLink(Path.Combine(repo, "out", "committed"), "/etc/passwd");
        await GitAsync(repo, "add", "-A");
        await GitAsync(repo, "commit", "-q", "-m", "a committed link");
        var target = Path.Combine(Dir, "fetched-" + Guid.NewGuid().ToString("N")[..6]);

        var run = await ExecInAsync(state, repo);
        var listed = await Runner(state, "artifacts", "last");
        var fetched = await Runner(state, "artifacts", "last", "build", "-o", target);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError + run.StandardOutput);
        Assert.That(run.StandardOutput, Does.Contain("[use:1] ok\n[use:1] /etc/shadow\n[use:1] no-fifo\n"), "the needing job sees the links as links");
        Assert.That(fetched.ExitCode, Is.EqualTo(0), fetched.StandardError);
        Assert.Multiple(() =>
        {
            Assert.That(new FileInfo(Path.Combine(target, "out", "s")).LinkTarget, Is.EqualTo("/etc/shadow"));
            Assert.That(new FileInfo(Path.Combine(target, "out", "r")).LinkTarget, Is.EqualTo("/"));
            Assert.That(new FileInfo(Path.Combine(target, "out", "state")).LinkTarget, Is.EqualTo(state));
            Assert.That(new FileInfo(Path.Combine(target, "out", "committed")).LinkTarget, Is.EqualTo("/etc/passwd"));
            Assert.That(File.ReadAllText(Path.Combine(target, "out", "ok.txt")), Is.EqualTo("ok\n"));
            Assert.That(Path.Exists(Path.Combine(target, "out", "fifo")), Is.False, "a fifo is not an artifact");
            Assert.That(Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName), Is.EqualTo(new[] { "out" }));
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(target, "out")).Select(Path.GetFileName).Order(),
                Is.EqualTo(new[] { "committed", "ok.txt", "r", "s", "state" }), "nothing of the host");
            Assert.That(listed.StandardOutput, Does.Contain("out/s -> /etc/shadow"));
        });
    }

    [Test, CancelAfter(120_000)]
    public async Task A_tree_with_a_link_and_a_directory_of_one_name_is_refused_and_writes_nothing_on_the_host(CancellationToken ct)
    {
        var host = HostDirectory();
        var repo = await RepositoryAsync("jobs:\n  build:\n    steps: [\"ls a\"]\n");
        // A tree git itself would never write: a link 'a' to a host directory, and a directory 'a' holding 'planted'.
        var pipeline = await GitAsync(repo, "rev-parse", "HEAD:.runner.yml");
        var link = await HashAsync(repo, "blob", Encoding.UTF8.GetBytes(host));
        var planted = await HashAsync(repo, "blob", "planted by the repository\n"u8.ToArray());
        var inner = await HashAsync(repo, "tree", TreeEntry("100644", "planted", planted));
        var crafted = await HashAsync(repo, "tree", [.. TreeEntry("100644", ".runner.yml", pipeline), .. TreeEntry("120000", "a", link), .. TreeEntry("40000", "a", inner)]);
        var commit = await GitAsync(repo, "commit-tree", crafted, "-m", "crafted");
        await GitAsync(repo, "update-ref", "refs/heads/main", commit);

        var local = await ExecAsync(repo);
        var remote = await Runner(Path.Combine(Dir, "state"), "exec", "--url", "file://" + repo);

        foreach (var result in new[] { local, remote })
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.StandardError + result.StandardOutput);
            Assert.That(result.StandardError, Does.Contain("the commit's tree is malformed at 'a': two entries of the same name"));
        }

        Assert.That(File.Exists(Path.Combine(host, "planted")), Is.False, "nothing was written through the link");
        Assert.That(Directory.EnumerateDirectories(Path.Combine(Dir, "state", "checkouts"), "*.tmp-*"), Is.Empty, "a refused tree leaves nothing half-written");
    }

    [Test, CancelAfter(120_000)]
    public async Task An_include_through_a_directory_link_out_of_the_repository_reads_nothing_of_the_host(CancellationToken ct)
    {
        var host = HostDirectory();
        var repo = await RepositoryAsync("include: [d/inc.yml]\njobs:\n  build:\n    steps: [\"echo build\"]\n");
        File.CreateSymbolicLink(Path.Combine(repo, "d"), host);
        await GitAsync(repo, "add", "-A");
        await GitAsync(repo, "commit", "-q", "-m", "a directory link");

        var validate = await Runner(Path.Combine(Dir, "state"), "validate", "-C", repo);
        var plan = await Runner(Path.Combine(Dir, "state"), "plan", "-C", repo);
        var exec = await ExecAsync(repo);

        foreach (var result in new[] { validate, plan, exec })
        {
            var all = result.StandardOutput + result.StandardError;
            Assert.That(result.ExitCode, Is.EqualTo(2), all);
            Assert.That(all, Does.Contain("included file 'd/inc.yml' does not exist"));
            Assert.That(all, Does.Not.Contain("HOST-SECRET-LINE").And.Not.Contain("HOST-INCLUDE-RAN").And.Not.Contain("evil"));
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task Validate_on_a_fifo_says_it_is_not_a_regular_file_instead_of_hanging(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  build:\n    steps: [\"echo build\"]\n");
        var fifo = Path.Combine(repo, "pipe.yml");
        await CliWrap.Cli.Wrap("mkfifo").WithArguments([fifo]).ExecuteAsync(ct);

        var result = await Runner(Path.Combine(Dir, "state"), "validate", "-C", repo, "-f", "pipe.yml");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.StandardOutput + result.StandardError);
        Assert.That(result.StandardOutput + result.StandardError, Does.Contain("'pipe.yml' is a fifo, not a regular file"));
    }

    [Test, CancelAfter(120_000)]
    public async Task Escape_sequences_a_step_prints_reach_neither_the_terminal_nor_the_log_but_colours_do(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: printf '\033]0;pwned\007\033[31mred\033[0m\033[2J\033[1Ahidden\rforged\n'
            """);
        var state = NewState("escapes");

        var run = await ExecInAsync(state, repo);
        var logs = await Runner(state, "logs", "last");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.StandardError);
        foreach (var output in new[] { run.StandardOutput, logs.StandardOutput })
        {
            Assert.That(output, Does.Contain("[build:1] \u001b[31mred\u001b[0mhidden\n[build:1] forged\n"), "a carriage return starts a line of its own");
            Assert.That(output, Does.Not.Contain("\u001b]").And.Not.Contain("\u001b[2J").And.Not.Contain("\r"));
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task User_mistakes_are_a_sentence_and_exit_2_not_a_stack_trace(CancellationToken ct)
    {
        var state = Path.Combine(Dir, "state");
        var notLayout = Directory.CreateDirectory(Path.Combine(Dir, "not-a-layout")).FullName;
        File.WriteAllText(Path.Combine(notLayout, "x"), "x");
        var box = Directory.CreateDirectory(Path.Combine(Dir, "box", "bin")).Parent!.FullName;
        File.Copy("/bin/busybox", Path.Combine(box, "bin", "busybox"), overwrite: true);
        File.CreateSymbolicLink(Path.Combine(box, "bin", "sh"), "busybox");
        File.CreateSymbolicLink(Path.Combine(box, "lnk"), "/etc");

        var import = await Runner(state, "image", "import", notLayout);
        var importTagged = await Runner(state, "image", "import", notLayout, "--tag", "localhost/x:1");
        var volume = await Runner(state, "run", "--rootfs", box, "-v", $"{notLayout}:/lnk/x", "--", "/bin/sh", "-c", "echo ran");

        foreach (var result in new[] { import, importTagged })
        {
            Assert.That((result.ExitCode, result.StandardError.Trim()), Is.EqualTo((2, $"runner: {notLayout} is a directory but not an OCI image layout (it has no index.json); " +
                "import an OCI layout directory, a docker save or OCI archive, or a root file system tarball")));
        }

        Assert.That((volume.ExitCode, volume.StandardError.Trim()), Is.EqualTo((2,
            "runner: cannot mount on '/lnk/x': '/lnk' is a symbolic link in the container's file system (to '/etc'); mount on a path without one")));
        Assert.That(volume.StandardOutput, Does.Not.Contain("ran"));
    }

    private static byte[] TreeEntry(string mode, string name, string sha) =>
        [.. Encoding.ASCII.GetBytes($"{mode} {name}\0"), .. Convert.FromHexString(sha)];

    private static async Task<string> HashAsync(string repo, string type, byte[] content)
    {
        var result = await CliWrap.Cli.Wrap("git").WithArguments(["hash-object", "-t", type, "-w", "--literally", "--stdin"]).WithWorkingDirectory(repo)
            .WithStandardInputPipe(PipeSource.FromBytes(content)).ExecuteBufferedAsync();
        return result.StandardOutput.Trim();
    }
}
