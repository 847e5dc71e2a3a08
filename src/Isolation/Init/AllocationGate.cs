namespace Ci.Isolation.Init;

/// <summary>
/// Held by every thread of runner-init while it runs managed code that allocates, and by the thread that clones a PID 1 at
/// the clone: a garbage collection starts only on an allocating thread, so none is under way when a child is cloned. The
/// child is a copy of this process's memory at that instant, and its first GC poll (after the clone's system call returns)
/// would otherwise find a collection's "suspend" flag set in the copy and wait for a collector the child does not have.
/// One thread in the launcher runs set-up code at a time; the waits (for PID 1's exec, its end, the next request) are made
/// without it. The finalizer thread only closes handles.
/// </summary>
internal static class AllocationGate
{
    public static readonly Lock Lock = new();
}
