namespace Ci.Tests.Shared;

/// <summary>Processes on the host, as the leak checks of both test projects look for them (compiled into each).</summary>
internal static class HostProcesses
{
    /// <summary>"PID: command line" of the processes whose command line contains <paramref name="text"/> (the test host itself left out).</summary>
    public static IEnumerable<string> WithCommandLine(string text)
    {
        foreach (var proc in Pids())
        {
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (IOException)
            {
                continue;
            }

            if (cmdline.Contains(text, StringComparison.Ordinal) && !cmdline.Contains("testhost", StringComparison.Ordinal))
            {
                yield return $"{Path.GetFileName(proc)}: {cmdline}";
            }
        }
    }

    /// <summary>
    /// runner-init processes (the monitor, and PID 1 under --init) that hold a file under
    /// <paramref name="directory"/> open, as a container's result file is. Found by name and open
    /// files, not by command line, which runner-init rewrites ("init spec.json", or "init" for the launcher).
    /// </summary>
    public static IEnumerable<string> InitsUnder(string directory)
    {
        foreach (var proc in Pids())
        {
            string[] files;
            try
            {
                if (File.ReadAllText(Path.Combine(proc, "comm")).Trim() != "runner-init")
                {
                    continue;
                }

                files = Directory.GetFiles(Path.Combine(proc, "fd")).Select(fd => new FileInfo(fd).LinkTarget ?? "")
                    .Where(f => f.StartsWith(directory, StringComparison.Ordinal)).ToArray();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (files.Length > 0)
            {
                yield return $"{Path.GetFileName(proc)}: runner-init holding {string.Join(", ", files)}";
            }
        }
    }

    private static IEnumerable<string> Pids() => Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _));
}
