using Ci.Pipeline.Diagnostics;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;

namespace Ci.Pipeline.Tests.Compilation;

public sealed class CompilerTests
{
    private TempRepo _repo = null!;

    [SetUp]
    public void SetUp() => _repo = new TempRepo();

    [TearDown]
    public void TearDown() => _repo.Dispose();

    [Test]
    public void Jobs_come_in_dependency_order_with_needs_as_ids()
    {
        var plan = _repo.Plan("""
            jobs:
              deploy: { needs: [test], steps: [./deploy] }
              test: { needs: build, steps: [make test] }
              build: { steps: [make] }
            """);

        Assert.That(plan.Jobs.Select(j => j.Id), Is.EqualTo(new[] { "build", "test", "deploy" }));
        Assert.That(plan.FindJob("deploy")!.Needs, Is.EqualTo(new[] { "test" }));
    }

    [Test]
    public void A_matrix_expands_to_named_cells_and_needs_of_it_mean_every_cell()
    {
        var plan = _repo.Plan("""
            jobs:
              test:
                matrix:
                  node: [18, 20]
                  os: [debian, alpine]
                  exclude: [{ node: 18, os: alpine }]
                  include: [{ node: 22, os: debian }, { os: alpine, experimental: "yes" }]
                image: node:${{ matrix.node }}-${{ matrix.os }}
                steps: ["echo ${{ matrix.experimental }}"]
              report: { needs: [test], steps: [echo done] }
            """);

        var cells = plan.Jobs.Where(j => j.Name == "test").ToList();
        Assert.That(cells.Select(j => j.DisplayName), Is.EqualTo(new[]
        {
            "test (18, debian)", "test (20, debian)", "test (20, alpine, yes)", "test (22, debian)",
        }));
        Assert.That(cells.Select(j => j.Image), Is.EqualTo(new[] { "node:18-debian", "node:20-debian", "node:20-alpine", "node:22-debian" }));
        Assert.That(cells[2].Steps[0].Script, Is.EqualTo("echo yes"));
        Assert.That(cells[0].Steps[0].Script, Is.EqualTo("echo "), "a key only some cells have is empty in the others");
        Assert.That(plan.FindJob("report")!.Needs, Is.EqualTo(cells.Select(c => c.Id)));
        Assert.That(cells.Select(c => c.Id).Distinct().Count(), Is.EqualTo(4));
    }

    [Test]
    public void A_matrix_beyond_the_limit_is_an_error_before_it_is_expanded()
    {
        var axes = string.Join("\n", Enumerable.Range(0, 20).Select(i => $"      a{i}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"));

        var errors = _repo.Errors($"jobs:\n  t:\n    matrix:\n{axes}\n    steps: [x]\n");

        Assert.That(errors.Single().Code, Is.EqualTo(DiagnosticCodes.MatrixTooLarge));
    }

    [Test]
    public void A_cycle_is_named_in_full()
    {
        var errors = _repo.Errors("""
            jobs:
              a: { needs: [c], steps: [x] }
              b: { needs: [a], steps: [x] }
              c: { needs: [b], steps: [x] }
            """);

        Assert.That(errors.Single().Message, Is.EqualTo("dependency cycle: a → c → b → a"));
    }

    [Test]
    public void Defaults_and_top_level_settings_reach_jobs_and_steps_unless_overridden()
    {
        var plan = _repo.Plan("""
            image: debian:bookworm
            resources: { cpus: 2, memory: 1Gi }
            defaults: { timeout: 30m, shell: bash, workdir: src, network: none }
            jobs:
              build:
                resources: { memory: 2Gi }
                steps:
                  - run: make
                    timeout: 2h
                  - run: make test
                    timeout: 5m
                    workdir: tests
                    resources: { cpus: 0.5 }
            """);

        var job = plan.Jobs.Single();
        Assert.That(job.Image, Is.EqualTo("debian:bookworm"));
        Assert.That(job.Limits, Is.EqualTo(new ResourceLimits(2000, 2L << 30, null, 4096)));
        Assert.That(job.Network, Is.EqualTo(NetworkMode.None));
        Assert.That(job.Workdir, Is.EqualTo("/workspace/src"));
        Assert.That(job.Steps[0].Timeout, Is.EqualTo(TimeSpan.FromMinutes(30)), "a step cannot outlive its job");
        Assert.That(job.Steps[1].Timeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(job.Steps[1].Workdir, Is.EqualTo("/workspace/src/tests"));
        Assert.That(job.Steps[1].Limits.MilliCpus, Is.EqualTo(500));
        Assert.That(job.Steps[1].Limits.MemoryBytes, Is.EqualTo(2L << 30));
        Assert.That(job.Steps[0].Command, Is.EqualTo(new[] { "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", "make" }));
    }

    [Test]
    public void A_steps_environment_starts_from_the_predefined_variables_which_the_pipeline_may_override_and_which_do_not_key_a_cached_step()
    {
        const string Pipeline = """
            name: nightly
            jobs:
              build:
                env: { CI_EVENT: overridden }
                steps:
                  - run: make
                    cache: layer
            """;
        var first = _repo.Plan(Pipeline, new TriggerContext { Branch = "main", Commit = "0123456789abcdef0123456789abcdef01234567" });
        var second = _repo.Plan(Pipeline, new TriggerContext { Branch = "main", Commit = "fedcba9876543210fedcba9876543210fedcba98" });

        var env = first.Jobs[0].Steps[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.That(env, Does.ContainKey("CI").WithValue("true"));
        Assert.That(env, Does.ContainKey("CI_COMMIT_SHA").WithValue("0123456789abcdef0123456789abcdef01234567"));
        Assert.That(env, Does.ContainKey("CI_COMMIT_SHORT_SHA").WithValue("01234567"));
        Assert.That(env, Does.ContainKey("CI_COMMIT_BRANCH").WithValue("main"));
        Assert.That(env, Does.ContainKey("CI_JOB_NAME").WithValue("build"));
        Assert.That(env, Does.ContainKey("CI_PIPELINE_NAME").WithValue("nightly"));
        Assert.That(env, Does.ContainKey("CI_EVENT").WithValue("overridden"), "the pipeline's env is stronger");
        Assert.That(first.Jobs[0].Steps[0].LayerCache!.InputsDigest, Is.EqualTo(second.Jobs[0].Steps[0].LayerCache!.InputsDigest),
            "a new commit alone must not miss the layer cache");
    }

    [Test]
    public void A_cached_step_after_an_uncached_one_is_warned_about_where_it_is_written()
    {
        _repo.With(".runner.yml", """
            jobs:
              late:
                steps:
                  - run: make
                  - run: make docs
                    cache: layer
              early:
                steps:
                  - run: npm ci
                    cache: layer
                  - run: npm test
            """);

        var result = _repo.Compile();

        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Diagnostics.Select(d => (d.Code, d.Position.Line)), Is.EqualTo(new[] { (DiagnosticCodes.CacheNeverHits, 5) }),
            string.Join("\n", result.Diagnostics));
        Assert.That(result.Diagnostics[0].Message, Does.Contain("comes after step 1, which is not cached"));
    }

    [Test]
    public void Env_is_layered_and_values_can_use_earlier_variables()
    {
        var plan = _repo.Plan("""
            env: { A: top, B: "${{ A }}-b" }
            jobs:
              j:
                env: { A: job }
                steps:
                  - run: "echo $A"
                    env: { C: "${{ A }}/${{ B }}/${{ CI_COMMIT_BRANCH }}" }
            """);

        var env = plan.Jobs[0].Steps[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.That(env["A"], Is.EqualTo("job"));
        Assert.That(env["B"], Is.EqualTo("top-b"));
        Assert.That(env["C"], Is.EqualTo("job/top-b/main"));
    }

    [Test]
    public void Secrets_stay_placeholders_in_the_plan()
    {
        var plan = _repo.Plan("""
            secrets: [NPM_TOKEN]
            jobs:
              j:
                env: { TOKEN: "Bearer ${{ secrets.NPM_TOKEN }}" }
                steps: ["npm publish"]
            """);

        var token = plan.Jobs[0].Env.Single(e => e.Name == "TOKEN");
        Assert.That(token.Value, Is.EqualTo("Bearer ${{ secrets.NPM_TOKEN }}"));
        Assert.That(token.Secrets, Is.EqualTo(new[] { "NPM_TOKEN" }));
    }

    [Test]
    public void A_required_secret_without_a_value_is_an_error_when_secrets_are_checked()
    {
        _repo.With(".runner.yml", "secrets: [A, { B: { optional: true } }, { C: { from_env: CI_C } }, D]\njobs: { j: { steps: [x] } }\n");

        var result = _repo.Compile(trigger: new TriggerContext { AvailableSecrets = new SecretAvailability(new HashSet<string> { "D" }, new HashSet<string> { "C" }) });

        Assert.That(result.Errors.Select(e => e.Code), Is.EqualTo(new[] { DiagnosticCodes.SecretMissing, DiagnosticCodes.SecretMissing }));
        Assert.That(result.Errors.Select(e => e.Message), Is.EqualTo(new[]
        {
            "secret 'A' has no value; put A=VALUE in the --secrets-file, or pass the runner's variable with --secret A",
            "secret 'C' has no value; put C=VALUE in the --secrets-file, or pass the runner's variable with --secret CI_C",
        }), "from_env names the variable: allowing C itself is not enough; D comes from the file");
    }

    [Test]
    public void When_and_if_skip_jobs_with_a_reason_and_skips_propagate()
    {
        var plan = _repo.Plan("""
            jobs:
              build: { steps: [make] }
              deploy: { needs: [build], when: { branch: [main] }, steps: [./deploy] }
              notify: { needs: [deploy], steps: [./notify] }
              docs: { if: "changed('docs/**')", steps: [make docs] }
              cleanup: { needs: [deploy], if: always(), steps: [./cleanup] }
            """, new TriggerContext { Branch = "feature/x", ChangedFiles = ["src/a.c"] });

        Assert.That(plan.FindJob("build")!.SkipReason, Is.Null);
        Assert.That(plan.FindJob("deploy")!.SkipReason, Is.EqualTo("branch 'feature/x' does not match when.branch"));
        Assert.That(plan.FindJob("notify")!.SkipReason, Is.EqualTo("needs 'deploy', which is skipped"));
        Assert.That(plan.FindJob("docs")!.SkipReason, Is.EqualTo("if: changed('docs/**') is false"));
        Assert.That(plan.FindJob("cleanup")!.SkipReason, Is.Null);
        Assert.That(plan.FindJob("cleanup")!.Condition, Is.EqualTo(new RunCondition("always()", true)));
    }

    [Test]
    public void On_filters_decide_whether_the_pipeline_runs_at_all()
    {
        const string Yaml = """
            on:
              push: { branches: [main, "release/**"], paths: ["src/**"] }
              tag: { tags: ["v*"] }
            jobs: { j: { steps: [x] } }
            """;

        Assert.That(_repo.Plan(Yaml, new TriggerContext { Branch = "main" }).IsTriggered, Is.True);
        Assert.That(_repo.Plan(Yaml, new TriggerContext { Branch = "dev" }).NotTriggeredReason, Is.EqualTo("branch 'dev' does not match on.push.branches"));
        Assert.That(_repo.Plan(Yaml, new TriggerContext { Branch = "main", ChangedFiles = ["README.md"] }).IsTriggered, Is.False);
        Assert.That(_repo.Plan(Yaml, new TriggerContext { Event = TriggerEvent.Tag, Tag = "v1.0" }).IsTriggered, Is.True);
        Assert.That(_repo.Plan(Yaml, new TriggerContext { Event = TriggerEvent.PullRequest }).NotTriggeredReason, Is.EqualTo("on: does not list the event 'pull_request'"));
    }

    [Test]
    public void Cache_keys_follow_file_contents_not_timestamps()
    {
        const string Yaml = """
            jobs:
              j:
                cache: { key: { prefix: "npm-${{ CI_COMMIT_BRANCH }}", files: [package-lock.json] }, paths: [/root/.npm], fallback_keys: [npm-] }
                steps:
                  - run: npm ci
                    cache: layer
                    key_files: [package-lock.json]
                  - run: npm test
                    cache: layer
            """;
        _repo.With("package-lock.json", "{\"v\": 1}");
        var first = _repo.Plan(Yaml).Jobs[0];
        File.SetLastWriteTimeUtc(Path.Combine(_repo.Root, "package-lock.json"), DateTime.UtcNow.AddDays(-3));
        var touched = _repo.Plan(Yaml).Jobs[0];
        _repo.With("package-lock.json", "{\"v\": 2}");
        var changed = _repo.Plan(Yaml).Jobs[0];

        Assert.That(first.Caches[0].Key, Does.StartWith("npm-main-"));
        Assert.That(first.Caches[0].FallbackKeys, Is.EqualTo(new[] { "npm-" }));
        Assert.That(touched.Caches[0].Key, Is.EqualTo(first.Caches[0].Key));
        Assert.That(touched.Steps[0].LayerCache!.InputsDigest, Is.EqualTo(first.Steps[0].LayerCache!.InputsDigest));
        Assert.That(changed.Caches[0].Key, Is.Not.EqualTo(first.Caches[0].Key));
        Assert.That(changed.Steps[0].LayerCache!.InputsDigest, Is.Not.EqualTo(first.Steps[0].LayerCache!.InputsDigest));
        Assert.That(first.Steps[0].LayerCache!.KeyFiles, Is.EqualTo(new[] { "package-lock.json" }));
        Assert.That(first.Steps[1].LayerCache!.WholeCheckout, Is.True, "a cached step without key_files is keyed on the whole checkout");
    }

    [Test]
    public void A_key_files_pattern_that_matches_nothing_is_a_warning()
    {
        _repo.With(".runner.yml", "jobs: { j: { steps: [{ run: x, cache: layer, key_files: [yarn.lock] }] } }\n");

        var result = _repo.Compile();

        Assert.That(result.Succeeded, Is.True);
        Assert.That(result.Diagnostics.Single().Code, Is.EqualTo(DiagnosticCodes.PatternMatchesNothing));
    }

    [Test]
    public void Includes_add_jobs_and_report_problems_in_their_own_file()
    {
        _repo.With("ci/lint.yml", "jobs:\n  lint:\n    steps: [make lint]\n    imgae: x\n");
        _repo.With(".runner.yml", "include: [ci/lint.yml]\njobs:\n  build: { needs: [lint], steps: [make] }\n");

        var result = _repo.Compile();

        Assert.That(result.Errors.Single().ToString(), Is.EqualTo("ci/lint.yml(4,5): error PL0012: unknown key 'imgae' in a job (did you mean 'image'?)"));
    }

    [Test]
    public void An_include_cycle_is_reported()
    {
        _repo.With("a.yml", "include: [b.yml]\n").With("b.yml", "include: [a.yml]\n");
        _repo.With(".runner.yml", "include: [a.yml]\njobs: { j: { steps: [x] } }\n");

        var errors = _repo.Compile().Errors.ToList();

        Assert.That(errors.Single().Message, Is.EqualTo("include cycle: .runner.yml → a.yml → b.yml → a.yml"));
    }

    [Test]
    public void Anchors_and_merge_keys_share_settings_between_jobs()
    {
        var plan = _repo.Plan("""
            jobs:
              a: &common
                timeout: 5m
                env: { SHARED: from-a }
                steps: [x]
              b: { <<: *common, timeout: 7m, steps: [y] }
            """);

        var b = plan.FindJob("b")!;
        Assert.That(plan.FindJob("a")!.Timeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(b.Timeout, Is.EqualTo(TimeSpan.FromMinutes(7)), "an explicit key wins over the merged one");
        Assert.That(b.Env.Single(e => e.Name == "SHARED").Value, Is.EqualTo("from-a"), "the rest comes from the anchor");
        Assert.That(b.Steps.Single().Script, Is.EqualTo("y"));
    }

    [Test]
    public void Depends_on_still_works_with_a_deprecation_warning()
    {
        _repo.With(".runner.yml", "jobs:\n  a: { steps: [x] }\n  b: { depends_on: [a], steps: [y] }\n");

        var result = _repo.Compile();

        Assert.That(result.Plan!.FindJob("b")!.Needs, Is.EqualTo(new[] { "a" }));
        Assert.That(result.Diagnostics.Single().ToString(), Is.EqualTo(".runner.yml(3,8): warning PL1001: 'depends_on' is deprecated in a job; use 'needs'"));
    }

    [Test]
    public void All_errors_are_reported_at_once_in_source_order()
    {
        var errors = _repo.Errors("""
            jobs:
              a:
                timeout: soon
                steps: [{ rnu: x }]
              b: { needs: [c], steps: [y] }
            """);

        Assert.That(errors.Select(e => (e.Position.Line, e.Code)), Is.EqualTo(new[]
        {
            (3, DiagnosticCodes.InvalidDuration), (4, DiagnosticCodes.MissingKey), (4, DiagnosticCodes.UnknownKey), (5, DiagnosticCodes.UnknownNeed),
        }));
    }
}
