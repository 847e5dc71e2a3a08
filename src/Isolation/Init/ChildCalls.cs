using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ci.Isolation.Init;

/// <summary>
/// The libc calls made between clone and execve (<see cref="CommandLauncher"/>, <see cref="ProcFilesystem"/>), and the clone
/// itself, without the runtime's GC transition: the child, a copy of this process's memory, makes no switch between managed
/// and native modes, which is runtime bookkeeping it has no use for. Whether a collection is under way is still looked at
/// (a GC poll may follow such a call), and would be found so in the copy had one been: hence the clone is made under
/// <see cref="AllocationGate"/>, when none can be. Blocking calls here are made only by the child; in the parent only the clone.
/// </summary>
internal static unsafe partial class ChildCalls
{
    private const string Libc = "libc";

    [LibraryImport(Libc, EntryPoint = "syscall"), SuppressGCTransition]
    public static partial long rawsyscall(long number, long a, long b, long c, long d, long e);

    [LibraryImport(Libc, EntryPoint = "ioctl"), SuppressGCTransition]
    public static partial int rawioctl(int fd, ulong request, nint argument);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int mount(byte* source, byte* target, byte* fstype, ulong flags, byte* data);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int sigwaitinfo(ulong* set, void* info);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int* __errno_location();

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial nint write(int fd, void* buffer, nint count);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int close(int fd);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int open(byte* path, int flags);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int dup2(int oldFd, int newFd);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial void _exit(int status);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int setsid();

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int chdir(byte* path);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int kill(int pid, int signal);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial nint signal(int signum, nint handler);

    [LibraryImport(Libc), SuppressGCTransition]
    public static partial int sigprocmask(int how, ulong* set, ulong* oldSet);

    public static int Errno => *__errno_location();
}
