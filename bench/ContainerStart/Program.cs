using System.Diagnostics;
using Ci.Isolation.Containers;

// ContainerStart ROOTFS RUNS STATE_DIR: runs /bin/true RUNS times with 256 MiB + 0.5 CPU limits in one
// runtime, set up as `runner exec` sets up its own, and prints each container's wall time in milliseconds, one per line,
// after 5 warm-up runs.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: ContainerStart ROOTFS RUNS STATE_DIR");
    return 2;
}

var runtime = ContainerRuntime.Create(new RuntimeOptions { StateDirectory = args[2], DeferCleanup = true, UseLauncher = true });
var spec = new ContainerSpec
{
    Layers = [args[0]],
    Command = ["/bin/true"],
    Limits = new ContainerLimits(MilliCpus: 500, MemoryBytes: 256L << 20, Pids: 64),
};
var runs = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
for (var i = -5; i < runs; i++)
{
    var watch = Stopwatch.StartNew();
    var result = await runtime.RunAsync(spec);
    watch.Stop();
    if (result.ExitCode != 0)
    {
        Console.Error.WriteLine($"container failed: {result}");
        return 1;
    }

    if (i >= 0)
    {
        Console.WriteLine(watch.Elapsed.TotalMilliseconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
    }
}

await runtime.DrainAsync();
return 0;
