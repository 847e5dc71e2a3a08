using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Ci.Isolation.Files;

namespace Ci.Runner;

/// <summary>
/// The native libraries the runner carries inside itself, so that the published <c>runner</c> is
/// one file: libgit2 (LibGit2Sharp) and e_sqlite3 (Microsoft.Data.Sqlite). When .NET does not find
/// one where it looks (beside the binary, the system's paths), it asks here, and the copy embedded
/// in the runner is unpacked into the state directory (<see cref="EmbeddedFiles"/>) and loaded from
/// there. runner-init travels the same way inside Ci.Isolation.
/// </summary>
internal static class NativeParts
{
    private static readonly string[] Libraries = ["libgit2-", "libe_sqlite3"];
    private static string? s_directory;
    private static int s_installed;

    /// <summary>Answers .NET's question for our libraries; once per process, before any of them is needed.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += Resolve;
        }
    }

    /// <summary>Where they are unpacked: the state directory of the process's first host (a server's own, or RUNNER_STATE_DIR's).</summary>
    public static void UseStateDirectory(string directory) => Interlocked.CompareExchange(ref s_directory, directory, null);

    private static IntPtr Resolve(Assembly assembly, string name)
    {
        var file = name.EndsWith(".so", StringComparison.Ordinal) ? name : $"lib{name}.so";
        if (!Libraries.Any(l => file.StartsWith(l, StringComparison.Ordinal)))
        {
            return IntPtr.Zero;
        }

        var directory = s_directory ?? Settings.RunnerSettings.StateDirectoryFromEnvironment();
        try
        {
            return NativeLibrary.Load(EmbeddedFiles.Unpack(typeof(NativeParts).Assembly, file, directory));
        }
        catch (UnauthorizedAccessException) when (!Environment.IsPrivilegedProcess)
        {
            // A user who may not write the state directory (runner validate in their own checkout): their own data directory.
            var own = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "runner");
            return NativeLibrary.Load(EmbeddedFiles.Unpack(typeof(NativeParts).Assembly, file, own));
        }
    }
}
