using System.Runtime.InteropServices;

namespace Ci.Isolation.Init;

/// <summary>
/// The default seccomp filter, as a classic BPF program in unmanaged memory (built before fork,
/// installed by the child after no_new_privs). It refuses with EPERM what Docker's default profile
/// allows only with CAP_SYS_ADMIN or another capability the command does not keep: mount and the
/// new mount API, namespace creation and entry (unshare, setns, clone with namespace flags),
/// keyrings, bpf, perf, modules, kexec, clock and host settings; clone3 answers ENOSYS so libc
/// falls back to clone, whose flags can be checked. Non-x86_64 and x32 calls are refused outright.
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
    private const ushort LdAbs = 0x20, JeqK = 0x15, JgeK = 0x35, JsetK = 0x45, RetK = 0x06;

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
        var code = new List<SockFilter>
        {
            Stmt(LdAbs, 4), // arch
            Jump(JeqK, AuditArchX8664, 1, 0),
            Stmt(RetK, RetKillProcess),
            Stmt(LdAbs, 0), // nr
            Jump(JgeK, X32SyscallBit, 0, 1),
            Stmt(RetK, RetErrno | Eperm),
        };

        foreach (var nr in SyscallNumbers.Refused.Values.Order())
        {
            code.Add(Jump(JeqK, (uint)nr, 0, 1));
            code.Add(Stmt(RetK, RetErrno | Eperm));
        }

        code.Add(Jump(JeqK, (uint)SyscallNumbers.Clone3, 0, 1));
        code.Add(Stmt(RetK, RetErrno | Enosys));
        code.Add(Jump(JeqK, (uint)SyscallNumbers.Clone, 0, 3));
        code.Add(Stmt(LdAbs, 16)); // args[0], low 32 bits: the clone flags
        code.Add(Jump(JsetK, NamespaceFlags, 0, 1));
        code.Add(Stmt(RetK, RetErrno | Eperm));
        code.Add(Stmt(RetK, RetAllow));

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

    private static SockFilter Stmt(ushort code, uint k) => new() { Code = code, K = k };

    private static SockFilter Jump(ushort code, uint k, byte jt, byte jf) => new() { Code = code, Jt = jt, Jf = jf, K = k };
}
