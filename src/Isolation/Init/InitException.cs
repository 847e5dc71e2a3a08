using System.Runtime.InteropServices;

namespace Ci.Isolation.Init;

/// <summary>A failed system call during set-up, with the operation, the path and errno: <c>mount(overlay → /x): EINVAL</c>.</summary>
internal sealed class InitException : Exception
{
    public InitException(string operation, int errno)
        : base($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
    }

    private InitException(string message, int? errno)
        : base(message)
    {
        Errno = errno;
        IsExec = true;
    }

    /// <summary>The call that failed (<c>mount(overlay → /x)</c>); null for an exec failure, whose message names the command.</summary>
    public string? Operation { get; }

    public int? Errno { get; }

    /// <summary>The command cannot be executed: the runtime reports this like a shell (exit 127), not as a set-up failure.</summary>
    public bool IsExec { get; }

    public static InitException ExecFailed(string message, int? errno = null) => new("exec " + message, errno);

    /// <summary>Checks a libc return value; on -1 throws with the current errno.</summary>
    public static void Check(long result, string operation)
    {
        if (result == -1)
        {
            throw new InitException(operation, Marshal.GetLastPInvokeError());
        }
    }
}
