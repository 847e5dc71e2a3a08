using System.Runtime.InteropServices;

namespace Ci.Isolation.Init;

/// <summary>
/// The libc calls of runner-init, bound once. Signatures are blittable, and errno is read through <see cref="Errno"/>
/// where a call is also made from code that must not marshal; the calls made between clone and execve are
/// <see cref="ChildCalls"/>, without the GC transition.
/// </summary>
internal static unsafe partial class Native
{
    private const string Libc = "libc";

    public const long SysPivotRoot = SyscallNumbers.PivotRoot;
    public const long SysCapset = SyscallNumbers.Capset;
    public const long SysCloseRange = SyscallNumbers.CloseRange;
    public const long SysClone = SyscallNumbers.Clone;
    public const long SysSetgroups = SyscallNumbers.Setgroups;
    public const long SysSetresuid = SyscallNumbers.Setresuid;
    public const long SysSetresgid = SyscallNumbers.Setresgid;
    public const long SysUnshare = SyscallNumbers.Unshare;

    public const ulong MsRdonly = 1, MsNosuid = 2, MsNodev = 4, MsNoexec = 8, MsRemount = 32, MsBind = 4096,
        MsRec = 16384, MsPrivate = 1 << 18, MsSlave = 1 << 19, MsStrictatime = 1 << 24;

    public const int MntDetach = 2;
    public const int CloneNewNs = 0x00020000;
    public const int CloneNewUts = 0x04000000;
    public const int CloneNewIpc = 0x08000000;
    public const int CloneNewCgroup = 0x02000000;
    public const int CloneNewNet = 0x40000000;
    public const int CloneNewPid = 0x20000000;
    public const int OWronly = 1, OCreat = 0x40, OTrunc = 0x200, OCloexec = 0x80000;
    public const int PrSetPdeathsig = 1, PrCapbsetDrop = 24, PrSetNoNewPrivs = 38, PrSetChildSubreaper = 36, PrSetSeccomp = 22;
    public const ulong SeccompModeFilter = 2;
    public const uint CloseRangeCloexec = 1 << 2;
    public const int SigKill = 9, SigTerm = 15, SigChld = 17;
    public const int Enoent = 2, Echild = 10, Eintr = 4;
    public const int Wnohang = 1;
    public const int ProtRead = 1, ProtWrite = 2, MapShared = 1, MapAnonymous = 0x20;
    public const uint SIfchr = 0x2000;

    [LibraryImport(Libc, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int mount(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(Libc, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int umount2(string target, int flags);

    [LibraryImport(Libc, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int chdir(string path);

    [LibraryImport(Libc, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport(Libc, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int symlink(string target, string linkPath);

    [LibraryImport(Libc, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sethostname(byte* name, nint length);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int unshare(int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial long syscall(long number, long a, long b, long c);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* argument);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Libc)]
    public static partial int umask(int mask);

    public const int TcsaNow = 0;

    [LibraryImport(Libc)]
    public static partial int isatty(int fd);

    [LibraryImport(Libc)]
    public static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport(Libc)]
    public static partial int tcsetattr(int fd, int actions, byte* termios);

    [LibraryImport(Libc)]
    public static partial void cfmakeraw(byte* termios);

    [LibraryImport(Libc)]
    public static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport(Libc)]
    public static partial int munmap(void* address, nuint length);

    public const ulong TiocSctty = 0x540E;

    [LibraryImport(Libc)]
    public static partial int* __errno_location();

    [LibraryImport(Libc)]
    public static partial nint write(int fd, void* buffer, nint count);

    [LibraryImport(Libc)]
    public static partial nint read(int fd, void* buffer, nint count);

    [LibraryImport(Libc)]
    public static partial int close(int fd);

    [LibraryImport(Libc)]
    public static partial void _exit(int status);

    [LibraryImport(Libc)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Libc)]
    public static partial int kill(int pid, int signal);

    public const int PPid = 1, WExited = 4, WNowait = 0x01000000;

    [LibraryImport(Libc)]
    public static partial int waitid(int idType, int id, void* info, int options);

    public static int Errno => *__errno_location();

    public static ulong Makedev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
}
