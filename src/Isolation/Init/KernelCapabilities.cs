namespace Ci.Isolation.Init;

/// <summary>The kernel's capabilities, as far as it has them: read once, before any container, while the host's /proc is in view.</summary>
internal static class KernelCapabilities
{
    /// <summary>
    /// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap, 40 on 6.x): the bounding set is dropped up to it,
    /// not to 63, which asked the kernel 23 times a process for capabilities that do not exist. 63 when it cannot be read.
    /// </summary>
    public static int Last { get; private set; } = 63;

    /// <summary>Reads <see cref="Last"/>; called at runner-init's start, before a container's thread pivots away from /proc.</summary>
    public static void Read()
    {
        try
        {
            if (int.TryParse(SmallFiles.ReadText("/proc/sys/kernel/cap_last_cap").Trim(), out var last) && last is >= 0 and < 63)
            {
                Last = last;
            }
        }
        catch (InitException)
        {
            // An older or unusual kernel: drop all 64.
        }
    }
}
