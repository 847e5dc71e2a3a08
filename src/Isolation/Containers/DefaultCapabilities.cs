namespace Ci.Isolation.Containers;

/// <summary>
/// The capabilities a container's command keeps: Podman's default set (containers/common
/// pkg/config/default.go), which is Docker's without MKNOD, NET_RAW and AUDIT_WRITE. Without
/// MKNOD a step cannot create a device node for a host disk; without NET_RAW it cannot spoof
/// packets. Capability numbers from linux/capability.h.
/// </summary>
public static class DefaultCapabilities
{
    public static IReadOnlyList<int> Podman { get; } =
    [
        0,  // CHOWN
        1,  // DAC_OVERRIDE
        3,  // FOWNER
        4,  // FSETID
        5,  // KILL
        6,  // SETGID
        7,  // SETUID
        8,  // SETPCAP
        10, // NET_BIND_SERVICE
        18, // SYS_CHROOT
        31, // SETFCAP
    ];
}
