using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Tests.Containers;

namespace Ci.Isolation.Tests.Security;

/// <summary>
/// Issue 10, item 10: what a killed pull, import or checkout leaves is removed by the next start
/// (and by prune), and a live writer's temporaries are never touched.
/// </summary>
[Category("Security")]
public sealed class StoreFaultTests : ContainerFixture
{
    private const int DeadPid = 4_000_000; // above pid_max: never a live process

    [Test]
    public void The_next_start_removes_the_temporaries_of_a_killed_runner_and_keeps_a_live_ones()
    {
        var state = Host.StateDirectory;
        string[] abandoned =
        [
            Directory.CreateDirectory(Path.Combine(state, "l", $".tmp-{DeadPid}-00000000aa")).FullName,
            Path.Combine(state, "b", "sha256", $"{new string('a', 64)}.tmp-{DeadPid}-00000000bb"),
            Directory.CreateDirectory(Path.Combine(state, "tmp", $"import.tmp-{DeadPid}-00000000cc")).FullName,
            Directory.CreateDirectory(Path.Combine(state, "checkouts", $"0123456789abcdef.tmp-{DeadPid}-00000000dd")).FullName,
        ];
        Directory.CreateDirectory(Path.Combine(state, "b", "sha256"));
        File.WriteAllText(abandoned[1], "half a blob");
        File.WriteAllText(Path.Combine(abandoned[0], "half-a-layer"), "x");
        var live = Directory.CreateDirectory(Path.Combine(state, "l", $".tmp-{Environment.ProcessId}-00000000ee")).FullName;

        ContainerRuntime.Create(Host.Runtime.Options);

        Assert.Multiple(() =>
        {
            foreach (var path in abandoned)
            {
                Assert.That(Path.Exists(path), Is.False, path);
            }

            Assert.That(Directory.Exists(live), Is.True, "a temporary of a live runner stays");
        });
        Directory.Delete(live);
    }

    [Test]
    public void Prune_removes_the_temporaries_of_a_killed_runner_too()
    {
        var half = Directory.CreateDirectory(Path.Combine(Host.StateDirectory, "l", $".tmp-{DeadPid}-00000000ff")).FullName;
        var blobs = Directory.CreateDirectory(Path.Combine(Host.StateDirectory, "b", "sha256")).FullName;
        var stale = Path.Combine(blobs, new string('c', 64) + ".partial");
        var fresh = Path.Combine(blobs, new string('d', 64) + ".partial");
        File.WriteAllText(stale, "a download abandoned yesterday");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-1));
        File.WriteAllText(fresh, "a download that may resume");

        ImagePruner.Prune(new ImageStore(Host.StateDirectory, new LayerStore(Host.StateDirectory)), Host.StateDirectory);

        Assert.That(Directory.Exists(half), Is.False);
        Assert.That(File.Exists(stale), Is.False, "an interrupted download nobody resumed goes");
        Assert.That(File.Exists(fresh), Is.True, "a recent one may still be resumed");
        File.Delete(fresh);
    }
}
