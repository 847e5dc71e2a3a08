using System.Collections;
using System.Text;
using Ci.Pipeline.Plan;

namespace Ci.Runner.Engine;

/// <summary>
/// Where a run's secret values come from: only where the user put them on purpose. A secrets file
/// (<c>--secrets-file</c>, dotenv lines NAME=VALUE, readable by its owner only), and the runner's
/// environment variables the user names one by one (<c>--secret VAR</c>). Never the rest of the
/// runner's environment, and never its own settings (RUNNER_*): a pipeline declaring
/// <c>secrets: [RUNNER_GIT_PASSWORD]</c> gets nothing. Values are never printed, not even in errors.
/// </summary>
public sealed class RunSecrets
{
    /// <summary>The prefix of the runner's own settings, which no pipeline may read.</summary>
    public const string RunnerPrefix = "RUNNER_";

    private readonly Dictionary<string, string> _file;
    private readonly Dictionary<string, string> _allowed;

    private RunSecrets(Dictionary<string, string> file, Dictionary<string, string> allowed)
    {
        _file = file;
        _allowed = allowed;
    }

    /// <summary>
    /// Reads the secrets file (when given) and takes the allowed variables from <paramref name="environment"/>.
    /// Throws <see cref="SecretsException"/> with what to do (never with a value) for a file that
    /// others can read, a line that is not NAME=VALUE, a RUNNER_* variable or one that is not set.
    /// </summary>
    public static RunSecrets Load(string? file, IReadOnlyList<string> allowedVariables, IDictionary environment)
    {
        var fromFile = file is null ? new Dictionary<string, string>(StringComparer.Ordinal) : ReadFile(file);
        var allowed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in allowedVariables)
        {
            if (name.StartsWith(RunnerPrefix, StringComparison.Ordinal))
            {
                throw new SecretsException($"--secret {name}: the runner's own settings ({RunnerPrefix}*) are never given to a pipeline");
            }

            if (!IsName(name))
            {
                throw new SecretsException($"--secret '{name}' is not a variable name (letters, digits and _, not starting with a digit)");
            }

            allowed[name] = environment[name] as string
                ?? throw new SecretsException($"--secret {name}: the variable {name} is not set in the runner's environment");
        }

        return new RunSecrets(fromFile, allowed);
    }

    /// <summary>Values the host read itself (the server's configuration), by secret name.</summary>
    public static RunSecrets FromValues(IReadOnlyDictionary<string, string> values) =>
        new(new Dictionary<string, string>(values, StringComparer.Ordinal), new Dictionary<string, string>(StringComparer.Ordinal));

    /// <summary>No secrets at all (a pull request from a fork).</summary>
    public static RunSecrets None => FromValues(new Dictionary<string, string>());

    /// <summary>What the compiler checks required secrets against.</summary>
    public SecretAvailability Availability => new(_file.Keys.ToHashSet(StringComparer.Ordinal), _allowed.Keys.ToHashSet(StringComparer.Ordinal));

    /// <summary>The value of each declared secret that has one: the file's by name, else the allowed variable's (its from_env).</summary>
    public IReadOnlyDictionary<string, string> ValuesFor(IEnumerable<PlannedSecret> secrets)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var secret in secrets)
        {
            if (_file.TryGetValue(secret.Name, out var value) || _allowed.TryGetValue(secret.Variable, out value))
            {
                values[secret.Name] = value;
            }
        }

        return values;
    }

    private static Dictionary<string, string> ReadFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.LinkTarget is not null && !File.Exists(info.ResolveLinkTarget(true)?.FullName))
        {
            throw new SecretsException($"--secrets-file {path}: there is no such file");
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new SecretsException($"--secrets-file {path}: other users can read or write it (mode {Convert.ToString((int)mode & 0x1ff, 8)}); 'chmod 600 {path}' and try again");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=');
            var name = equals > 0 ? line[..equals].Trim() : "";
            if (!IsName(name))
            {
                // The line is not shown: it may hold a value.
                throw new SecretsException($"{path}({number}): expected NAME=VALUE (a name of letters, digits and _)");
            }

            values[name] = Unquote(line[(equals + 1)..].Trim(), path, number);
        }

        return values;
    }

    /// <summary>A dotenv value: as it is, 'single-quoted' literally, or "double-quoted" with \n, \t, \" and \\.</summary>
    private static string Unquote(string value, string path, int number)
    {
        if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'')
        {
            return value[1..^1];
        }

        if (value.Length >= 1 && value[0] == '"')
        {
            if (value.Length < 2 || value[^1] != '"')
            {
                throw new SecretsException($"{path}({number}): a double-quoted value is not closed");
            }

            var text = new StringBuilder();
            for (var i = 1; i < value.Length - 1; i++)
            {
                if (value[i] == '\\' && i + 1 < value.Length - 1)
                {
                    i++;
                    text.Append(value[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var c => c });
                }
                else
                {
                    text.Append(value[i]);
                }
            }

            return text.ToString();
        }

        return value;
    }

    private static bool IsName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}

/// <summary>A secrets option that cannot be used; the message says what to do and never holds a value.</summary>
public sealed class SecretsException(string message) : Exception(message);
