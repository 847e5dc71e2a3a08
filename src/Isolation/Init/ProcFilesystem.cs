using System.Runtime.InteropServices;
using System.Text;
using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// The container's /proc, mounted by the first process of the new PID namespace (a proc mount shows
/// the namespace of the process that mounts it), then Docker's masked and read-only proc paths.
/// Paths are laid out in unmanaged memory beforehand: this runs between clone and execve.
/// </summary>
internal sealed unsafe class ProcFilesystem
{
    // Docker's defaults (moby daemon/pkg/oci/defaults.go), the /proc half; RootFilesystem masks the /sys half.
    private static readonly string[] MaskedFiles = ["/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/interrupts"];
    private static readonly string[] MaskedDirs = ["/proc/acpi", "/proc/asound", "/proc/scsi"];
    private static readonly string[] ReadOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private readonly byte* _proc = Utf8("/proc");
    private readonly byte* _procType = Utf8("proc");
    private readonly byte* _tmpfs = Utf8("tmpfs");
    private readonly byte* _devNull = Utf8("/dev/null");
    private readonly byte* _emptyTmpfs = Utf8("nr_blocks=1,nr_inodes=1");
    // Reading these managed arrays after clone allocates nothing.
    private readonly nint[] _maskedFiles = Utf8All(MaskedFiles);
    private readonly nint[] _maskedDirs = Utf8All(MaskedDirs);
    private readonly nint[] _readOnly = Utf8All(ReadOnlyPaths);

    /// <summary>Mounts and masks; returns 0, or the errno of the first mount that failed for a reason other than a missing path.</summary>
    public int Mount()
    {
        if (ChildCalls.mount(_procType, _proc, _procType, MsNosuid | MsNodev | MsNoexec, null) != 0)
        {
            return ChildCalls.Errno;
        }

        foreach (var file in _maskedFiles)
        {
            if (ChildCalls.mount(_devNull, (byte*)file, null, MsBind, null) != 0 && ChildCalls.Errno != Enoent)
            {
                return ChildCalls.Errno;
            }
        }

        foreach (var dir in _maskedDirs)
        {
            if (ChildCalls.mount(_tmpfs, (byte*)dir, _tmpfs, MsRdonly, _emptyTmpfs) != 0 && ChildCalls.Errno != Enoent)
            {
                return ChildCalls.Errno;
            }
        }

        foreach (var path in _readOnly)
        {
            if (ChildCalls.mount((byte*)path, (byte*)path, null, MsBind | MsRec, null) != 0)
            {
                if (ChildCalls.Errno == Enoent)
                {
                    continue;
                }

                return ChildCalls.Errno;
            }

            if (ChildCalls.mount(null, (byte*)path, null, MsBind | MsRemount | MsRdonly | MsNosuid | MsNodev | MsNoexec, null) != 0)
            {
                return ChildCalls.Errno;
            }
        }

        return 0;
    }

    private static nint[] Utf8All(string[] paths)
    {
        var all = new nint[paths.Length];
        for (var i = 0; i < paths.Length; i++)
        {
            all[i] = (nint)Utf8(paths[i]);
        }

        return all;
    }

    internal static byte* Utf8(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }
}
