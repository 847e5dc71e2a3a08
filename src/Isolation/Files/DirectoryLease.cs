using Microsoft.Win32.SafeHandles;

namespace Ci.Isolation.Files;

/// <summary>
/// An open directory of a <see cref="RootedDirectory"/> for the length of one operation: either opened for it (disposing
/// closes it) or one the tree keeps open, borrowed (disposing gives it back; the tree forgetting it meanwhile closes it only
/// after that), so that a kept directory costs no system call at all.
/// </summary>
internal sealed class DirectoryLease : IDisposable
{
    private readonly bool _borrowed;
    private int _disposed;

    private DirectoryLease(SafeFileHandle handle, bool borrowed)
    {
        Handle = handle;
        _borrowed = borrowed;
    }

    public SafeFileHandle Handle { get; }

    public int Fd => (int)Handle.DangerousGetHandle();

    public static DirectoryLease Own(SafeFileHandle handle) => new(handle, borrowed: false);

    public static DirectoryLease Borrow(SafeFileHandle kept)
    {
        var added = false;
        kept.DangerousAddRef(ref added);
        return new DirectoryLease(kept, borrowed: true);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_borrowed)
        {
            Handle.DangerousRelease();
        }
        else
        {
            Handle.Dispose();
        }
    }
}
