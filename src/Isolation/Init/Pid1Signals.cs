using static Ci.Isolation.Init.Native;

namespace Ci.Isolation.Init;

/// <summary>
/// A container's PID 1 as its monitor knows it, for signals (the runtime's, forwarded by runner-init's own process or sent
/// through the launcher, and the one the runner's death sends): one that comes before PID 1 exists is held and delivered at
/// its start (a SIGKILL held is not replaced by a later signal); none is sent once PID 1 has ended.
/// </summary>
internal sealed class Pid1Signals
{
    private readonly Lock _lock = new();
    private int _pid1;
    private int _pending;
    private bool _ended;

    public void Signal(int number)
    {
        lock (_lock)
        {
            if (_ended)
            {
                return;
            }

            if (_pid1 > 0)
            {
                _ = kill(_pid1, number);
            }
            else if (_pending != SigKill)
            {
                _pending = number;
            }
        }
    }

    public void Started(int pid1)
    {
        lock (_lock)
        {
            _pid1 = pid1;
            if (_pending > 0)
            {
                _ = kill(pid1, _pending);
            }
        }
    }

    /// <summary>PID 1 is reaped: its number may be another process's from here on, so nothing is sent to it any more.</summary>
    public void Ended()
    {
        lock (_lock)
        {
            _ended = true;
        }
    }
}
