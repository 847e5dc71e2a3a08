using Ci.Pipeline.Yaml;

namespace Ci.Runner.Server.Config;

public sealed partial class ServerConfigReader
{
    /// <summary>Largest secret file read: tokens and keys are small; a path to a large file is a mistake.</summary>
    private const int MaxSecretBytes = 64 * 1024;

    /// <summary>
    /// <c>{ env: NAME }</c> or <c>{ file: /path }</c>, read now. A plain string is refused: a secret
    /// in the configuration's text ends up in backups, diffs and support tickets.
    /// </summary>
    private ConfigSecret? Secret(YamlNode node, string what)
    {
        if (node is YamlScalar)
        {
            Error(node, InvalidValue, $"{what}: a secret is read from an environment variable ({{ env: NAME }}) or a file ({{ file: /path }}), never written in the configuration");
            return null;
        }

        if (Mapping(node, what) is not { } map)
        {
            return null;
        }

        var fields = Fields(map, what, ["env", "file"]);
        if (fields.Count != 1)
        {
            if (fields.Count == 0 && map.Entries.Count == 0 || fields.Count == 2)
            {
                Error(map, InvalidValue, $"{what}: give one of env: or file:");
            }

            return null;
        }

        if (fields.TryGetValue("env", out var env))
        {
            if (String(env, $"{what}.env") is not { } name)
            {
                return null;
            }

            if (_environment[name] is string { Length: > 0 } value)
            {
                return new ConfigSecret(value, $"env {name}");
            }

            Error(env, SecretUnreadable, $"{what}: the environment variable {name} is not set (or is empty)");
            return null;
        }

        if (AbsolutePath(fields["file"], $"{what}.file") is not { } path)
        {
            return null;
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                Error(fields["file"], SecretUnreadable, $"{what}: there is no file {path}");
                return null;
            }

            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                Error(fields["file"], SecretUnreadable, $"{what}: other users can read or write {path} (mode {Convert.ToString((int)mode & 0x1ff, 8)}); 'chmod 600 {path}'");
                return null;
            }

            if (info.Length > MaxSecretBytes)
            {
                Error(fields["file"], SecretUnreadable, $"{what}: {path} is {info.Length} bytes; a secret file holds one token or key");
                return null;
            }

            // One trailing newline is the editor's, not the secret's.
            var text = File.ReadAllText(path).TrimEnd('\n', '\r');
            if (text.Length == 0)
            {
                Error(fields["file"], SecretUnreadable, $"{what}: {path} is empty");
                return null;
            }

            return new ConfigSecret(text, $"file {path}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error(fields["file"], SecretUnreadable, $"{what}: cannot read {path}: {ex.Message}");
            return null;
        }
    }
}
