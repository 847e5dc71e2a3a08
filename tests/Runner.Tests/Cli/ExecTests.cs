using CliWrap;
using CliWrap.Buffered;

namespace Ci.Runner.Tests.Cli;

/// <summary><c>runner exec</c> on real git repositories made by the tests, every step a real container on the host image.</summary>
public sealed class ExecTests : ExecFixture
{
    [Test, CancelAfter(120_000)]
    public async Task Steps_start_from_what_the_previous_step_left_and_sources_are_the_committed_ones(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: cat input.txt > out.txt && echo step1 >> out.txt
                  - run: cat out.txt && test ! -e uncommitted.txt && echo no-uncommitted
            """, ("input.txt", "committed input\n"));
        await File.WriteAllTextAsync(Path.Combine(repo, "uncommitted.txt"), "x", ct);

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("[build:2] committed input\n[build:2] step1\n[build:2] no-uncommitted\n"));
        Assert.That(File.Exists(Path.Combine(repo, "out.txt")), Is.False, "the repository is never written");
    }

    [Test, CancelAfter(120_000)]
    public async Task A_project_in_a_subdirectory_runs_its_own_pipeline_on_its_subtree_and_a_directory_outside_git_is_refused(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  root:\n    steps: [\"echo root pipeline\"]\n",
            ("services/api/.runner.yml", "jobs:\n  api:\n    steps: [\"ls; cat main.c\"]\n"), ("services/api/main.c", "int main;\n"), ("README", "top\n"));
        var outside = Directory.CreateDirectory(Path.Combine(Dir, "not-a-repo-" + Guid.NewGuid().ToString("N")[..6])).FullName;

        var broken = Directory.CreateDirectory(Path.Combine(Dir, "broken-gitlink-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        await File.WriteAllTextAsync(Path.Combine(broken, ".git"), "gitdir: /nonexistent/worktree\n", ct);

        var api = await ExecAsync(Path.Combine(repo, "services", "api"));
        var none = await ExecAsync(outside);
        var damaged = await ExecAsync(broken);

        Assert.That(api.ExitCode, Is.EqualTo(0), api.StandardError + api.StandardOutput);
        Assert.That(api.StandardOutput, Does.Contain("[api:1] main.c\n[api:1] int main;\n"), "the workspace is the subtree: no README, no services/");
        Assert.That(api.StandardOutput, Does.Not.Contain("root pipeline"));
        Assert.That(none.ExitCode, Is.EqualTo(2));
        Assert.That(none.StandardError, Does.Contain($"{outside} is not in a git repository"));
        Assert.That((damaged.ExitCode, damaged.StandardError.Trim()), Is.EqualTo((2,
            $"runner: {broken} has a .git that cannot be read as a repository (damaged, or a gitlink to a directory that is gone); 'git -C {broken} status' says more")));
    }

    [Test, CancelAfter(120_000)]
    public async Task With_worktree_uncommitted_and_untracked_files_count_and_ignored_and_deleted_ones_do_not(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: cat input.txt; cat new.txt; test -e gone.txt || echo gone-is-gone; test -e build.log || echo log-ignored; echo "$(cat .runner.yml | grep -c extra)"
            """, ("input.txt", "committed\n"), ("gone.txt", "x\n"), (".gitignore", "*.log\n"));
        await File.WriteAllTextAsync(Path.Combine(repo, "input.txt"), "edited, not committed\n", ct);
        await File.WriteAllTextAsync(Path.Combine(repo, "new.txt"), "untracked\n", ct);
        await File.WriteAllTextAsync(Path.Combine(repo, "build.log"), "ignored\n", ct);
        File.Delete(Path.Combine(repo, "gone.txt"));
        await File.AppendAllTextAsync(Path.Combine(repo, ".runner.yml"), "\n# extra, uncommitted\n", ct);

        var worktree = await ExecAsync(repo, "--worktree");
        var committed = await ExecAsync(repo);

        Assert.That(worktree.ExitCode, Is.EqualTo(0), worktree.StandardError + worktree.StandardOutput);
        Assert.That(worktree.StandardOutput, Does.Contain("[build:1] edited, not committed\n[build:1] untracked\n[build:1] gone-is-gone\n[build:1] log-ignored\n[build:1] 2\n"), "the uncommitted pipeline file, with its extra line, is the one read");
        Assert.That(committed.StandardOutput, Does.Contain("[build:1] committed\n"), "without --worktree the committed tree runs");
    }

    [Test, CancelAfter(120_000)]
    public async Task On_a_terminal_the_shell_on_failure_has_a_terminal_of_its_own_and_the_users_is_restored(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  build:\n    steps: [\"exit 7\"]\n");
        var state = NewState("tty");

        // The user's terminal, played by script(1)'s pseudo-terminal: its settings are printed before and after the run.
        var runner = $"{Cli.RunnerCli.Command().TargetFilePath} exec -C {repo} --shell-on-failure";
        var result = await WithFixture(CliWrap.Cli.Wrap("script").WithArguments(["-qec", $"stty -g; {runner}; stty -g", "/dev/null"]), state, ("TERM", "vt220"))
            .WithStandardInputPipe(PipeSource.FromString("tty; echo \"term=$TERM\"; exit\n"))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(ct);
        var lines = result.StandardOutput.Split("\r\n");

        Assert.That(result.StandardOutput, Does.Match(@"\r\n?/dev/pts/0\r\n"), "tty names the container's own terminal:\n" + result.StandardOutput);
        Assert.That(result.StandardOutput, Does.Contain("term=vt220\r\n"));
        Assert.That(result.StandardOutput, Does.Not.Contain("not a tty"));
        var settings = lines.Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^[0-9a-f]+(:[0-9a-f]+){10,}$")).ToList();
        Assert.That(settings, Has.Count.EqualTo(2), result.StandardOutput);
        Assert.That(settings[1], Is.EqualTo(settings[0]), "the user's terminal is as it was (not left raw)");
    }

    [Test, CancelAfter(120_000)]
    public async Task Validate_plan_and_exec_read_the_same_committed_tree_and_say_what_they_leave_out(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  build:\n    steps: [\"echo committed step\"]\n");
        var head = (await GitAsync(repo, "rev-parse", "HEAD"))[..12];
        await File.WriteAllTextAsync(Path.Combine(repo, ".runner.yml"), "jobs:\n  build:\n    steps: [\"echo edited step\"]\n  extra:\n    steps: [\"echo extra\"]\n", ct);

        var validate = await Runner(NewState("same-v"), "validate", "-C", repo);
        var plan = await Runner(NewState("same-p"), "plan", "-C", repo);
        var exec = await ExecAsync(repo);
        var planWorktree = await Runner(NewState("same-pw"), "plan", "-C", repo, "--worktree");

        Assert.That(validate.StandardOutput, Does.Contain(".runner.yml: valid, 1 job"), "the committed file has one job");
        Assert.That(plan.StandardOutput, Does.Contain("echo committed step").And.Not.Contain("extra"));
        Assert.That(exec.StandardOutput, Does.Contain("[build:1] committed step"));
        foreach (var (verb, result) in new[] { ("runner validate checks", validate), ("runner plan shows", plan), ("runner exec runs", exec) })
        {
            Assert.That(result.StandardError, Does.Contain($"note: {verb} commit {head}, without 1 uncommitted change (.runner.yml); add --worktree to include them"));
        }

        Assert.That(planWorktree.StandardOutput, Does.Contain("echo edited step").And.Contain("extra"));
        Assert.That(planWorktree.StandardError, Does.Not.Contain("note:"));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_pipeline_never_committed_is_named_with_the_way_to_run_it_and_worktree_runs_a_repository_with_no_commit(CancellationToken ct)
    {
        var fresh = Directory.CreateDirectory(Path.Combine(Dir, "fresh-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        await GitAsync(fresh, "init", "-q");
        await File.WriteAllTextAsync(Path.Combine(fresh, ".runner.yml"), "jobs:\n  build:\n    steps: [\"cat src/a.txt\"]\n", ct);
        Directory.CreateDirectory(Path.Combine(fresh, "src"));
        await File.WriteAllTextAsync(Path.Combine(fresh, "src", "a.txt"), "not committed yet\n", ct);
        var noCommit = await ExecAsync(fresh);
        var worktree = await ExecAsync(fresh, "--worktree");

        var repo = await RepositoryAsync("jobs: {}\n", ("README", "x\n"));
        File.Move(Path.Combine(repo, ".runner.yml"), Path.Combine(repo, "pipeline.yml"));
        await GitAsync(repo, "rm", "-q", "--cached", ".runner.yml");
        await GitAsync(repo, "commit", "-qm", "the pipeline is not committed");
        File.Move(Path.Combine(repo, "pipeline.yml"), Path.Combine(repo, ".runner.yml"));
        var head = (await GitAsync(repo, "rev-parse", "HEAD"))[..12];
        var untracked = await ExecAsync(repo);

        Assert.That((noCommit.ExitCode, noCommit.StandardError.Trim()), Is.EqualTo((2, $"runner: {fresh}: the repository has no commit yet; commit, or run the working tree as it is with --worktree")));
        Assert.That(worktree.ExitCode, Is.EqualTo(0), worktree.StandardError + worktree.StandardOutput);
        Assert.That(worktree.StandardOutput, Does.Contain("[build:1] not committed yet"));
        Assert.That(untracked.ExitCode, Is.EqualTo(2));
        Assert.That(untracked.StandardError, Does.Contain($"no pipeline file '.runner.yml' in commit {head}").And.Not.Contain("checkouts"), "no internal path");
        Assert.That(untracked.StandardError, Does.Contain("without 1 uncommitted change (.runner.yml); add --worktree to include them"));
    }

    [Test, CancelAfter(120_000)]
    public async Task With_json_every_event_is_one_line_of_json_on_stdout(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: echo hello
                  - run: exit 3
            """);

        var result = await ExecAsync(repo, "--json");

        var events = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(events.Select(e => e.GetProperty("type").GetString()), Is.EqualTo(new[]
        {
            "run_started", "job_started", "step_started", "output", "step_finished", "step_started", "step_finished", "job_finished", "run_finished",
        }));
        Assert.That(events[3].GetProperty("line").GetString(), Is.EqualTo("hello"));
        Assert.That(events[6].GetProperty("result").GetProperty("outcome").GetProperty("exitCode").GetInt32(), Is.EqualTo(3));
        Assert.That(events[^1].GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That(events[^1].GetProperty("jobs")[0].GetProperty("status").GetString(), Is.EqualTo("failed"));
    }

    [Test, CancelAfter(120_000)]
    public async Task Shell_on_failure_opens_a_shell_in_the_failed_steps_starting_state_with_its_environment(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                env: { GREETING: hello-from-env }
                steps:
                  - run: echo prepared > state.txt
                  - run: echo broken > state.txt; echo partial > partial.txt; exit 7
                  - run: echo never
            """);

        // The user's terminal, played by a pipe: the shell reads these commands, then exits.
        var result = await RunnerCommand(NewState("shell"), "exec", "-C", repo, "--shell-on-failure")
            .WithStandardInputPipe(PipeSource.FromString("cat state.txt; test -e partial.txt || echo no-partial; echo \"$GREETING\"; pwd; echo $$; exit 0\n"))
            .ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.StandardError);
        Assert.That(result.StandardError, Does.Contain("build: step 2 failed; a shell in its starting state follows (exit it to go on)"));
        Assert.That(result.StandardOutput, Does.Contain("prepared\nno-partial\nhello-from-env\n/workspace\n2\n"),
            "what step 1 left, not what step 2 did; the job's environment; a fresh container (the shell under an init)");
        Assert.That(result.StandardOutput, Does.Not.Contain("[build:3]"));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_failure_fails_the_run_skips_dependents_and_allow_failure_does_not(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              flaky:
                allow_failure: true
                steps: ["exit 3"]
              broken:
                steps:
                  - run: echo before; exit 4
                  - run: echo never
                  - run: echo cleanup
                    if: always()
              after-broken:
                needs: [broken]
                steps: ["echo should not run"]
              after-flaky:
                needs: [flaky]
                steps: ["echo runs after an allowed failure"]
            """);

        var result = await ExecAsync(repo, "--jobs", "1");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("[broken:3] cleanup"));
        Assert.That(result.StandardOutput, Does.Not.Contain("[broken:2]"), "a step after a failure does not run");
        Assert.That(result.StandardOutput, Does.Not.Contain("should not run"));
        Assert.That(result.StandardOutput, Does.Contain("runs after an allowed failure"));
        Assert.That(result.StandardOutput, Does.Match(@"after-broken\s+skipped\s+0ms  needs 'broken', which failed"));
        Assert.That(result.StandardOutput, Does.Match(@"flaky\s+failed \(allowed\)"));
    }

    [Test, CancelAfter(120_000)]
    public async Task With_fail_fast_the_first_failure_stops_running_jobs_and_starts_no_other(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              slow:
                steps:
                  - run: echo slow started; sleep 60; echo slow finished
              broken:
                steps:
                  - run: sleep 1; exit 4
              later:
                needs: [slow]
                steps: ["echo later ran"]
              independent:
                steps: ["echo independent ran"]
              notify:
                needs: [broken]
                if: always()
                steps:
                  - run: echo default step
                  - run: sleep 1; echo always step ran to its end
                    if: always()
            """);

        var fast = await ExecAsync(repo, "--jobs", "2", "--fail-fast");
        var without = await ExecAsync(repo, "--jobs", "4", "-j", "broken", "-j", "independent");

        Assert.That(fast.ExitCode, Is.EqualTo(1), fast.StandardError);
        Assert.That(fast.StandardOutput, Does.Contain("[slow:1] slow started"));
        Assert.That(fast.StandardOutput, Does.Not.Contain("slow finished"), "the running job was stopped, not waited for");
        Assert.That(fast.StandardOutput, Does.Match(@"1\. echo slow started.*FAILED.*stopped: job 'broken' failed \(--fail-fast\)"));
        Assert.That(fast.StandardOutput, Does.Not.Contain("later ran").And.Not.Contain("independent ran"), "no job starts after the failure");
        Assert.That(fast.StandardOutput, Does.Match(@"independent\s+skipped\s+0ms  job 'broken' failed \(--fail-fast\)"));
        Assert.That(fast.StandardOutput, Does.Contain("[notify:2] always step ran to its end"), "a job and a step that ask for always() run, and are not stopped");
        Assert.That(fast.StandardOutput, Does.Not.Contain("[notify:1]"), "its step without if: does not run in a stopped run");
        Assert.That(without.StandardOutput, Does.Contain("independent ran"), "without --fail-fast other jobs go on");
    }

    [Test, CancelAfter(120_000)]
    public async Task A_timeout_kills_the_step_a_retry_runs_it_again_and_a_matrix_runs_every_cell(CancellationToken ct)
    {
        // The retried step counts its attempts in a directory cache: the job's caches outlive its attempts, its file system does not.
        var repo = await RepositoryAsync("""
            jobs:
              slow:
                steps:
                  - run: echo going; sleep 30; echo never-here
                    timeout: 1s
              flaky:
                cache: { key: attempts, paths: [/attempts] }
                steps:
                  - run: echo x >> /attempts/count; echo "attempt $(wc -l < /attempts/count)"; test $(wc -l < /attempts/count) -ge 2 || exit 3
                    retry: { max: 2, exit_codes: [3] }
              cell:
                matrix: { size: [s, m], colour: [red, blue] }
                steps: ["echo cell-${{ matrix.size }}-${{ matrix.colour }}"]
            """);

        var result = await ExecInAsync(NewState("timeout"), repo, "--jobs", "3");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("[slow:1] going").And.Not.Contain("[slow:1] never-here"));
        Assert.That(result.StandardOutput, Does.Match(@"1\. echo going; sleep 30.*FAILED\s+\S+\s+143\s.*killed: timed out"), "SIGTERM under the init, and said in words");
        Assert.That(result.StandardOutput, Does.Contain("[flaky:1] attempt 1\n").And.Contain("[flaky:1] attempt 2\n"));
        Assert.That(result.StandardOutput, Does.Match(@"1\. echo x >> /attempts/count.*passed ×2"), "passed on the second attempt");
        Assert.That(result.StandardError, Does.Contain("flaky: step 1 exited 3; retrying (1 of 2)"));
        foreach (var cell in new[] { "s-red", "s-blue", "m-red", "m-blue" })
        {
            Assert.That(result.StandardOutput, Does.Contain($"] cell-{cell}\n"), cell);
        }
    }

    [Test, CancelAfter(120_000)]
    public async Task Selecting_a_job_that_does_not_exist_says_so_with_the_jobs_and_runs_nothing(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  build:\n    steps: [\"echo built\"]\n  test:\n    steps: [\"echo tested\"]\n");
        var state = NewState("nosuchjob");

        var result = await ExecInAsync(state, repo, "-j", "biuld");
        var runs = await Runner(state, "runs");

        Assert.That((result.ExitCode, result.StandardError.Trim()), Is.EqualTo((2, "runner: -j: the pipeline has no job 'biuld' (did you mean 'build'?); its jobs: build, test")));
        Assert.That(result.StandardOutput, Does.Not.Contain("built").And.Not.Contain("tested"));
        Assert.That(runs.StandardOutput, Does.Not.Contain("biuld").And.Not.Contain(repo), "no empty run was recorded");
    }

    [Test, CancelAfter(120_000)]
    public async Task A_jobs_timeout_stops_the_whole_job_not_each_step(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              slow:
                timeout: 2s
                steps: ["echo one; sleep 1.5", "sleep 1.5; echo two", "echo three"]
            """);

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.StandardError + result.StandardOutput);
        Assert.That(result.StandardOutput, Does.Contain("[slow:1] one\n"));
        Assert.That(result.StandardOutput, Does.Not.Contain("[slow:2] two").And.Not.Contain("[slow:3] three"));
        Assert.That(result.StandardOutput, Does.Contain("stopped: the job's timeout of 2s passed"));
    }

    [Test, CancelAfter(120_000)]
    public async Task The_runner_file_alone_runs_a_pipeline_elsewhere_and_unpacks_its_native_parts_once(CancellationToken ct)
    {
        var published = Path.GetDirectoryName(PublishedRunner.Binary)!;
        Assert.That(Directory.GetFiles(published).Select(Path.GetFileName), Is.EquivalentTo(new[] { "runner", "runner.dbg" }),
            "dotnet publish gives the runner and its debug symbols, nothing it needs beside it");
        var installed = Directory.CreateDirectory(Path.Combine(Dir, "installed-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.Copy(PublishedRunner.Binary, Path.Combine(installed, "runner"));
        File.SetUnixFileMode(Path.Combine(installed, "runner"), File.GetUnixFileMode(PublishedRunner.Binary));
        var repo = await RepositoryAsync("jobs:\n  build:\n    steps: [\"echo from-the-copy\"]\n");
        var state = NewState("installed");

        // exec: git (libgit2), the run record (SQLite), a container (runner-init); then runs reads the record back.
        var result = await WithFixture(CliWrap.Cli.Wrap(Path.Combine(installed, "runner")).WithArguments(["exec", "-C", repo]), state)
            .WithValidation(CliWrap.CommandResultValidation.None).ExecuteBufferedAsync(ct);
        var native = Directory.GetFiles(Path.Combine(state, "native"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray();
        var runs = await WithFixture(CliWrap.Cli.Wrap(Path.Combine(installed, "runner")).WithArguments(["runs"]), state)
            .WithValidation(CliWrap.CommandResultValidation.None).ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("[build:1] from-the-copy"));
        Assert.That(runs.StandardOutput, Does.Contain("passed"), runs.StandardError);
        Assert.That(Directory.GetFiles(installed), Has.Length.EqualTo(1));
        Assert.That(native, Has.Length.EqualTo(3).And.Contains("runner-init").And.Contains("libe_sqlite3.so").And.Some.StartsWith("libgit2-"),
            "unpacked once, into the state directory");
    }

    [Test, CancelAfter(120_000)]
    public async Task Commit_runs_that_commit_and_an_unknown_one_is_refused(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  show:\n    steps: [\"cat run.txt; echo $CI_COMMIT_SHA\"]\n", ("run.txt", "first\n"));
        var first = await GitAsync(repo, "rev-parse", "HEAD");
        await CommitAsync(repo, "run.txt", "second\n");

        var old = await ExecAsync(repo, "--commit", first[..10]);
        var head = await ExecAsync(repo);
        var unknown = await ExecAsync(repo, "--commit", "deadbeef");
        var both = await ExecAsync(repo, "--commit", first, "--worktree");

        Assert.That(old.ExitCode, Is.EqualTo(0), old.StandardError);
        Assert.That(old.StandardOutput, Does.Contain($"[show:1] first\n[show:1] {first}\n"));
        Assert.That(head.StandardOutput, Does.Contain("[show:1] second\n"));
        Assert.That((unknown.ExitCode, unknown.StandardError.Trim()), Is.EqualTo((2, $"runner: --commit: there is no commit 'deadbeef' in {repo}/")));
        Assert.That(both.ExitCode, Is.EqualTo(2));
        Assert.That(both.StandardError, Does.Contain("--commit runs a commit; --worktree runs the working tree"));
    }

    [Test, CancelAfter(120_000)]
    public async Task A_steps_environment_has_the_predefined_variables_the_reference_lists(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: echo "[$CI][$CI_COMMIT_SHA][$CI_COMMIT_BRANCH][$CI_JOB_NAME][$CI_EVENT]"
            """);
        var head = await GitAsync(repo, "rev-parse", "HEAD");

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain($"[build:1] [true][{head}][main][build][push]\n"));
    }

    [Test, CancelAfter(120_000)]
    public async Task Secrets_reach_the_step_through_env_and_are_masked_in_its_output(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            secrets: [DEPLOY_TOKEN]
            jobs:
              deploy:
                env: { TOKEN: "${{ secrets.DEPLOY_TOKEN }}" }
                steps:
                  - run: echo "token=$TOKEN"; printf '%s' "$TOKEN" | base64; test "$TOKEN" = tok-3f9a-secret-value && echo matches
            """);

        var result = await ExecAsync(repo, "--secret", "DEPLOY_TOKEN");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("token=***").And.Contain("matches"));
        Assert.That(result.StandardOutput + result.StandardError, Does.Not.Contain("tok-3f9a-secret-value"));
        Assert.That(result.StandardOutput, Does.Not.Contain(Convert.ToBase64String("tok-3f9a-secret-value"u8.ToArray())[..12]));
    }

    [Test, CancelAfter(120_000)]
    public async Task An_oom_kill_is_reported_in_the_summary(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              hungry:
                resources: { memory: 64Mi }
                steps: ["head -c 200m /dev/zero | tail > /dev/null"]
            """);

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.StandardOutput, Does.Contain("killed: out of memory"));
        Assert.That(result.StandardError, Does.Contain("==> hungry: step 1 failed (exit 137: killed, out of memory (limit 64 MiB))"), "the live line says why too");
    }

    [Test, CancelAfter(60_000)]
    public async Task An_invalid_pipeline_is_exit_2_with_positioned_diagnostics(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  a:\n    stpes: [x]\n");

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StandardError, Does.Contain(".runner.yml(3,5): error PL0012: unknown key 'stpes' in a job (did you mean 'steps'?)"));
    }

    [Test, CancelAfter(300_000)]
    public async Task The_readmes_first_command_runs_the_c_example_in_containers(CancellationToken ct)
    {
        var example = Path.Combine(Cli.RunnerCli.RepositoryRoot, "pipelines-examples", "c-make");

        // The README runs it with `dotnet run`: the JIT build, which the other tests do not use.
        var result = await WithFixture(Cli.RunnerCli.JitCommand("exec", "-C", example), Path.Combine(Dir, "state")).ExecuteBufferedAsync(ct);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardOutput + result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("[build:2] all tests passed"));
        Assert.That(result.StandardOutput, Does.Match(@"build\s+passed"));
        Assert.That(result.StandardOutput, Does.Match(@"check\s+passed"));
    }

    private const string CachedPipeline = """
        jobs:
          build:
            steps:
              - name: install
                run: echo "installing $(cat deps.lock)"; mkdir -p /opt/deps && cp deps.lock /opt/deps/installed && head -c 8 /dev/urandom | od -An -tx1 > /opt/deps/stamp
                cache: layer
                key_files: [deps.lock]
              - name: use
                run: cat /opt/deps/installed src.txt; cat /opt/deps/stamp > /tmp/stamp; ls /opt/deps
        """;

    [Test, CancelAfter(300_000)]
    public async Task A_setup_step_keyed_on_a_lock_file_hits_when_only_sources_change_and_reruns_when_the_lock_changes(CancellationToken ct)
    {
        var repo = await RepositoryAsync(CachedPipeline, ("deps.lock", "deps v1\n"), ("src.txt", "source v1\n"));
        var state = Path.Combine(Dir, "state-cache-" + Guid.NewGuid().ToString("N")[..6]);

        var cold = await ExecInAsync(state, repo);
        await CommitAsync(repo, "src.txt", "source v2\n");
        var sourcesChanged = await ExecInAsync(state, repo);
        await CommitAsync(repo, "deps.lock", "deps v2\n");
        var lockChanged = await ExecInAsync(state, repo);

        Assert.That(cold.StandardOutput, Does.Contain("[build:1] installing deps v1"));
        Assert.That(sourcesChanged.ExitCode, Is.EqualTo(0), sourcesChanged.StandardError);
        Assert.That(sourcesChanged.StandardOutput, Does.Not.Contain("installing"), "the install step did not run");
        Assert.That(sourcesChanged.StandardOutput, Does.Match(@"1\. install\s+cached.*from run 1 of "), "the summary says which run made the layer");
        Assert.That(sourcesChanged.StandardError, Does.Contain("build: step 1 cached (layer from run 1, "));
        Assert.That(sourcesChanged.StandardOutput, Does.Contain("[build:2] deps v1\n[build:2] source v2"), "later steps see the current sources");
        Assert.That(lockChanged.StandardOutput, Does.Contain("[build:1] installing deps v2"));
        Assert.That(lockChanged.StandardOutput, Does.Contain("[build:2] deps v2\n[build:2] source v2"));
    }

    [Test, CancelAfter(300_000)]
    public async Task A_cached_run_and_a_cold_run_give_the_same_outputs(CancellationToken ct)
    {
        var repo = await RepositoryAsync(CachedPipeline.Replace("; head -c 8 /dev/urandom | od -An -tx1 > /opt/deps/stamp", "; echo fixed > /opt/deps/stamp", StringComparison.Ordinal),
            ("deps.lock", "deps v1\n"), ("src.txt", "source v1\n"));
        var warmState = Path.Combine(Dir, "state-warm-" + Guid.NewGuid().ToString("N")[..6]);
        await ExecInAsync(warmState, repo);

        var cached = await ExecInAsync(warmState, repo);
        var cold = await ExecInAsync(Path.Combine(Dir, "state-cold-" + Guid.NewGuid().ToString("N")[..6]), repo);

        static string Step2(string output) => string.Join("\n", output.Split('\n').Where(l => l.StartsWith("[build:2]", StringComparison.Ordinal)));
        Assert.That(cached.StandardOutput, Does.Match(@"1\. install\s+cached"));
        Assert.That(Step2(cached.StandardOutput), Is.EqualTo(Step2(cold.StandardOutput)).And.Contain("installed").And.Contain("stamp"));
    }

    [Test, CancelAfter(120_000)]
    public async Task Artifacts_of_a_job_reach_the_jobs_that_need_it_as_its_last_step_left_them(CancellationToken ct)
    {
        var repo = await RepositoryAsync("""
            jobs:
              build:
                steps:
                  - run: mkdir -p out && echo app > out/app.txt && echo old > out/old.txt && echo log > out/build.log
                  - run: rm out/old.txt && echo "app v2" > out/app.txt
                artifacts: { paths: ["out/*.txt"] }
              test:
                needs: [build]
                steps:
                  - run: cat out/app.txt; ls out
            """);

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("[test:1] app v2\n[test:1] app.txt\n"), "only the matching, surviving files arrive");
        Assert.That(result.StandardOutput, Does.Not.Contain("[test:1] old.txt").And.Not.Contain("[test:1] build.log"));
    }

    [Test, CancelAfter(60_000)]
    public async Task A_setting_this_version_cannot_run_fails_the_job_naming_the_step(CancellationToken ct)
    {
        var repo = await RepositoryAsync("jobs:\n  j:\n    steps:\n      - run: id\n        user: builder\n");

        var result = await ExecAsync(repo);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.StandardError);
        Assert.That(result.StandardOutput, Does.Contain("step 1 (id): user 'builder' must be UID or UID:GID (numbers; names are not looked up yet)"));
        Assert.That(result.StandardError, Does.Not.Contain("   at "), "no stack trace");
    }
}
