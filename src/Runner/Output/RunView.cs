using Ci.Pipeline.Secrets;
using Ci.Pipeline.Values;
using Ci.Runner.Engine;

namespace Ci.Runner.Output;

/// <summary>
/// What a person (or a tool) sees of a run. Text: step output as <c>[job:step] line</c> on
/// stdout or stderr as the step wrote it, events as <c>==> ...</c> on stderr, then a summary
/// table; on a terminal each job's prefix has a colour of its own and statuses are coloured
/// (NO_COLOR turns that off), and below the output a live block shows the steps running now and
/// for how long. JSON (--json): every event as one line on stdout, nothing else.
/// </summary>
internal sealed class RunView(TextWriter stdout, TextWriter stderr, bool json, bool colour, SecretMasker masker, bool live = false,
    TimeProvider? time = null) : IDisposable
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private static readonly int[] JobColours = [36, 35, 33, 32, 34, 96, 95, 93];
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, StepStarted> _running = new(StringComparer.Ordinal);
    private int _statusLines;
    private ITimer? _timer;

    /// <summary>Both streams on a terminal: the live block can be redrawn in place.</summary>
    public static bool LiveWanted() => ColourWanted() && !Console.IsErrorRedirected;

    public static bool ColourWanted() =>
        !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null or "" && Environment.GetEnvironmentVariable("TERM") != "dumb";

    public void Report(RunEvent e)
    {
        lock (_lock)
        {
            ClearStatus();
            Write(e);
            Track(e);
            DrawStatus();
        }
    }

    private void Write(RunEvent e)
    {
        if (json)
        {
            stdout.WriteLine(masker.Apply(JsonOutput.Line(e))); // tools read these: the same masking as the terminal's
        }
        else if (e is StepOutputEvent output)
        {
            (output.IsError ? stderr : stdout).WriteLine($"{Paint($"[{output.Job}:{output.Step}]", JobColour(output.Job))} {output.Line}");
        }
        else
        {
            var text = masker.Apply(Engine.TerminalText.Neutralise(e.Describe())); // step names come from the pipeline
            stderr.WriteLine(Paint("==> ", 2) + (e switch
            {
                JobFinished { Result.Status: RunStatus.Failed } or StepFinished { Result.Status: RunStatus.Failed } => Paint(text, 31),
                JobFinished { Result.Status: RunStatus.Passed } => Paint(text, 32),
                _ => text,
            }));
        }
    }

    public void Summary(IReadOnlyList<JobResult> jobs)
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            _running.Clear();
            ClearStatus();
        }

        stdout.WriteLine();
        stdout.WriteLine($"{"JOB / STEP",-44} {"STATUS",-16} {"TIME",8} {"EXIT",5} {"PEAK MEM",10} {"CPU",8}");
        foreach (var job in jobs)
        {
            stdout.WriteLine($"{Paint($"{job.Id,-44}", JobColour(job.Id))} {Status(job.Status, 16)} {Units.FormatDuration(job.Duration),8}{(job.Reason is { } r ? "  " + r : "")}");
            foreach (var step in job.Steps.Where(s => s.Status != RunStatus.Skipped || job.Status != RunStatus.Skipped))
            {
                var o = step.Outcome;
                var name = $"  {step.Index}. {step.Name}";
                stdout.WriteLine($"{(name.Length > 44 ? name[..43] + "…" : name),-44} {Status(step.Status, 16, step.Attempts > 1 ? $" ×{step.Attempts}" : "")} " +
                    $"{(o is null ? "" : Units.FormatDuration(o.Duration)),8} {(o is null ? "" : o.ShellExitCode.ToString()),5} " +
                    $"{(o is null ? "" : Units.FormatBytes(o.PeakMemoryBytes)),10} {(o is null ? "" : Units.FormatDuration(o.CpuTime)),8}" +
                    (o is { OomKilled: true } ? $"  killed: out of memory (limit {Limit(step)})" : o is { TimedOut: true } ? "  killed: timed out" :
                     o?.WritableLimitExceeded is { } disk ? $"  killed: wrote more than {Units.FormatBytes(disk)} into its file system (RUNNER_WRITABLE_LIMIT)" :
                     o?.CachedFrom is { } at ? $"  from {(o.CachedRun is { } run ? $"run {run} of " : "the run of ")}{at.ToLocalTime():yyyy-MM-dd HH:mm:ss}" : step.Reason is { } why ? "  " + why : ""));
            }
        }
    }

    public void Dispose() => _timer?.Dispose();

    private void Track(RunEvent e)
    {
        if (!live)
        {
            return;
        }

        switch (e)
        {
            case StepStarted started:
                _running[started.Job] = started;
                _timer ??= _time.CreateTimer(_ => Refresh(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
                break;
            case StepFinished or JobFinished:
                _running.Remove(e.Job);
                break;
        }
    }

    private void Refresh()
    {
        lock (_lock)
        {
            ClearStatus();
            DrawStatus();
        }
    }

    /// <summary>One line per running step, under everything printed so far.</summary>
    private void DrawStatus()
    {
        if (!live || _running.Count == 0)
        {
            return;
        }

        foreach (var (job, step) in _running)
        {
            var name = step.Name.Length > 60 ? step.Name[..59] + "…" : step.Name;
            var elapsed = Units.FormatDuration(TimeSpan.FromSeconds(Math.Floor((_time.GetUtcNow() - step.Time).TotalSeconds)));
            stderr.Write($"\u001b[2K{Paint("running", 2)} {Paint(job, JobColour(job))} step {step.Step} {name} {Paint(elapsed, 2)}\n");
        }

        _statusLines = _running.Count;
        stderr.Flush();
    }

    /// <summary>Takes the live block away (cursor up over it, clear to the end of the screen) before anything else is printed.</summary>
    private void ClearStatus()
    {
        if (_statusLines > 0)
        {
            stderr.Write($"\u001b[{_statusLines}A\u001b[J");
            _statusLines = 0;
        }
    }

    private static string Limit(StepResult step) => step.MemoryLimit is { } m ? Units.FormatBytes(m) : "none";

    /// <summary>The status word, padded to <paramref name="width"/> before it is coloured, so the columns stay aligned.</summary>
    private string Status(RunStatus status, int width, string suffix = "")
    {
        var (word, code) = status switch
        {
            RunStatus.Passed => ("passed", 32),
            RunStatus.Cached => ("cached", 36),
            RunStatus.Failed => ("FAILED", 31),
            RunStatus.AllowedFailure => ("failed (allowed)", 33),
            _ => ("skipped", 2),
        };
        return Paint((word + suffix).PadRight(width), code);
    }

    private static int JobColour(string job) => JobColours[(int)((uint)job.Aggregate(17, (h, c) => (h * 31) + c) % (uint)JobColours.Length)];

    private string Paint(string text, int code) => colour ? $"\u001b[{code}m{text}\u001b[0m" : text;
}
