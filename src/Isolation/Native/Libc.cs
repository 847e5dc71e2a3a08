using System.Runtime.InteropServices;

namespace Ci.Isolation.Native;

/// <summary>The few libc calls the runtime makes from the runner's own (multi-threaded) process; none forks.</summary>
internal static partial class Libc
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int MntDetach = 2;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int umount2(string target, int flags);
}
