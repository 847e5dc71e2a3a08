using System.Runtime.InteropServices;

namespace Ci.Isolation.Init;

/// <summary>
/// The default seccomp filter, as a classic BPF program in unmanaged memory (built before fork,
/// installed by the child after no_new_privs). An allow-list modelled on Docker's default profile
/// (<see cref="SyscallNumbers.Allowed"/>): a call on it is allowed, a call newer than the table
/// answers ENOSYS (libc then falls back, as on an older kernel), any other call EPERM: mount and
/// the new mount API, namespaces (unshare, setns), keyrings, bpf, perf, modules, kexec, clock and
/// host settings, io_uring. clone is allowed without namespace flags, clone3 answers ENOSYS so libc
/// falls back to clone, whose flags can be checked; personality takes only the values Docker
/// allows (not READ_IMPLIES_EXEC). Non-x86_64 and x32 calls are refused outright. The allowed
/// numbers are searched as a binary tree of ranges: about 8 comparisons a call, not 300.
/// </summary>
internal static unsafe class SeccompFilter
{
    private const uint AuditArchX8664 = 0xC000003E;
    private const uint X32SyscallBit = 0x40000000;
    private const uint NamespaceFlags = 0x7E020000; // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
    private const uint RetAllow = 0x7fff0000;
    private const uint RetKillProcess = 0x80000000;
    private const uint RetErrno = 0x00050000;
    private const int Eperm = 1, Enosys = 38;
    private const ushort LdAbs = 0x20, Ja = 0x05, JeqK = 0x15, JgtK = 0x25, JgeK = 0x35, JsetK = 0x45, RetK = 0x06;

    // Docker's profile: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff.
    private static readonly uint[] Personalities = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFilter
    {
        public ushort Code;
        public byte Jt;
        public byte Jf;
        public uint K;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    /// <summary>Builds the program; returns a pointer to its struct sock_fprog, to pass to prctl(PR_SET_SECCOMP).</summary>
    public static void* Build()
    {
        var code = Program();
        var filter = (SockFilter*)NativeMemory.Alloc((nuint)code.Count, (nuint)sizeof(SockFilter));
        for (var i = 0; i < code.Count; i++)
        {
            filter[i] = code[i];
        }

        var prog = (SockFprog*)NativeMemory.AllocZeroed((nuint)sizeof(SockFprog));
        prog->Length = (ushort)code.Count;
        prog->Filter = filter;
        return prog;
    }

    private static List<SockFilter> Program()
    {
        var code = new List<SockFilter>
        {
            Stmt(LdAbs, 4), // arch
            Jump(JeqK, AuditArchX8664, 1, 0),
            Stmt(RetK, RetKillProcess),
            Stmt(LdAbs, 0), // nr
            Jump(JgeK, X32SyscallBit, 0, 1),
            Stmt(RetK, RetErrno | Eperm),
            Jump(JeqK, (uint)SyscallNumbers.Clone3, 0, 1),
            Stmt(RetK, RetErrno | Enosys),
            Jump(JeqK, (uint)SyscallNumbers.Clone, 0, 4),
            Stmt(LdAbs, 16), // args[0], low 32 bits: the clone flags
            Jump(JsetK, NamespaceFlags, 0, 1),
            Stmt(RetK, RetErrno | Eperm),
            Stmt(RetK, RetAllow),
            Jump(JeqK, (uint)SyscallNumbers.Personality, 0, (byte)(3 + Personalities.Length + 2)),
            Stmt(LdAbs, 20), // args[0], high 32 bits: must be 0
            Jump(JeqK, 0, 0, (byte)(1 + Personalities.Length)),
            Stmt(LdAbs, 16),
        };
        for (var i = 0; i < Personalities.Length; i++)
        {
            code.Add(Jump(JeqK, Personalities[i], (byte)(Personalities.Length - i), 0));
        }

        code.Add(Stmt(RetK, RetErrno | Eperm));
        code.Add(Stmt(RetK, RetAllow));
        code.AddRange(Search(Ranges(SyscallNumbers.Allowed.Values)));
        return code;
    }

    /// <summary>The allowed numbers as sorted, merged ranges.</summary>
    private static List<(uint Low, uint High)> Ranges(IEnumerable<int> numbers)
    {
        var ranges = new List<(uint Low, uint High)>();
        var sorted = new List<uint>();
        foreach (var n in numbers)
        {
            sorted.Add((uint)n);
        }

        sorted.Sort();
        foreach (var n in sorted)
        {
            if (ranges.Count > 0 && ranges[^1].High + 1 >= n)
            {
                ranges[^1] = (ranges[^1].Low, Math.Max(ranges[^1].High, n));
            }
            else
            {
                ranges.Add((n, n));
            }
        }

        return ranges;
    }

    /// <summary>
    /// A binary search over <paramref name="ranges"/> (nr is in A): each leaf allows its range and
    /// otherwise ends the program with ENOSYS (above the table) or EPERM. Far jumps go through JA,
    /// whose offset is 32 bits; conditional ones only skip one instruction.
    /// </summary>
    private static List<SockFilter> Search(List<(uint Low, uint High)> ranges)
    {
        if (ranges.Count == 1)
        {
            var (low, high) = ranges[0];
            return
            [
                Jump(JgeK, low, 0, 2),
                Jump(JgtK, high, 1, 0),
                Stmt(RetK, RetAllow),
                Jump(JgtK, (uint)SyscallNumbers.HighestKnown, 0, 1),
                Stmt(RetK, RetErrno | Enosys),
                Stmt(RetK, RetErrno | Eperm),
            ];
        }

        var middle = ranges.Count / 2;
        var below = Search(ranges.GetRange(0, middle));
        var above = Search(ranges.GetRange(middle, ranges.Count - middle));
        return [Jump(JgeK, ranges[middle].Low, 1, 0), Stmt(Ja, (uint)above.Count), .. above, .. below];
    }

    private static SockFilter Stmt(ushort code, uint k) => new() { Code = code, K = k };

    private static SockFilter Jump(ushort code, uint k, byte jt, byte jf) => new() { Code = code, Jt = jt, Jf = jf, K = k };
}
