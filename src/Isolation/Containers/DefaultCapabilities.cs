namespace Ci.Isolation.Containers;

/// <summary>Docker's default capability set (moby daemon/pkg/oci/caps/defaults.go), as capability numbers.</summary>
public static class DefaultCapabilities
{
    public static IReadOnlyList<int> Docker { get; } =
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
        13, // NET_RAW
        18, // SYS_CHROOT
        27, // MKNOD
        29, // AUDIT_WRITE
        31, // SETFCAP
    ];
}
