namespace Ci.Isolation.Init;

/// <summary>
/// The x86_64 system call numbers runner-init uses without a libc wrapper, and those its seccomp
/// filter names. Compiled into runner-init and into Ci.Isolation, so a test can check every one
/// against the kernel headers (asm/unistd_64.h).
/// </summary>
public static class SyscallNumbers
{
    public const long PivotRoot = 155;
    public const long Capset = 126;
    public const long CloseRange = 436;
    public const long Clone = 56;
    public const long Clone3 = 435;
    public const long Setgroups = 116;
    public const long Setresuid = 117;
    public const long Setresgid = 119;

    /// <summary>Calls the default seccomp filter refuses with EPERM.</summary>
    public static readonly IReadOnlyDictionary<string, int> Refused = new Dictionary<string, int>
    {
        ["syslog"] = 103, ["uselib"] = 134, ["ustat"] = 136, ["sysfs"] = 139, ["vhangup"] = 153, ["pivot_root"] = 155,
        ["_sysctl"] = 156, ["adjtimex"] = 159, ["acct"] = 163, ["settimeofday"] = 164, ["mount"] = 165, ["umount2"] = 166,
        ["swapon"] = 167, ["swapoff"] = 168, ["reboot"] = 169, ["sethostname"] = 170, ["setdomainname"] = 171, ["iopl"] = 172,
        ["ioperm"] = 173, ["create_module"] = 174, ["init_module"] = 175, ["delete_module"] = 176, ["get_kernel_syms"] = 177,
        ["query_module"] = 178, ["quotactl"] = 179, ["nfsservctl"] = 180, ["lookup_dcookie"] = 212, ["clock_settime"] = 227,
        ["kexec_load"] = 246, ["add_key"] = 248, ["request_key"] = 249, ["keyctl"] = 250, ["unshare"] = 272,
        ["perf_event_open"] = 298, ["fanotify_init"] = 300, ["open_by_handle_at"] = 304, ["clock_adjtime"] = 305, ["setns"] = 308,
        ["finit_module"] = 313, ["kexec_file_load"] = 320, ["bpf"] = 321, ["userfaultfd"] = 323, ["open_tree"] = 428,
        ["move_mount"] = 429, ["fsopen"] = 430, ["fsconfig"] = 431, ["fsmount"] = 432, ["fspick"] = 433, ["mount_setattr"] = 442,
    };
}
