namespace Ci.Isolation.Cgroups;

/// <summary>The devices a container may use (moby daemon/pkg/oci/defaults.go, less /dev/fuse): everything else is denied.</summary>
internal static class DeviceRules
{
    public static readonly IReadOnlyList<string> Allowed =
    [
        "c 1:3 rwm",   // null
        "c 1:5 rwm",   // zero
        "c 1:7 rwm",   // full
        "c 1:8 rwm",   // random
        "c 1:9 rwm",   // urandom
        "c 5:0 rwm",   // tty
        "c 5:1 rwm",   // console
        "c 5:2 rwm",   // ptmx
        "c 136:* rwm", // pts/*
    ];
}
