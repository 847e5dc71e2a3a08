using Ci.Isolation.Registry;
using Ci.Runner.Output;

namespace Ci.Runner.Tests.Output;

public sealed class PullProgressViewTests
{
    private static readonly PullProgress[] Pull =
    [
        new("sha256:aaaa", "downloading", 512 * 1024) { Total = 1024 * 1024 },
        new("sha256:bbbb", "already here", 0),
        new("sha256:aaaa", "downloading", 1024 * 1024) { Total = 1024 * 1024 },
        new("sha256:aaaa", "downloaded", 1024 * 1024) { Total = 1024 * 1024 },
        new("sha256:aaaa", "unpacked", 1024 * 1024) { Total = 1024 * 1024 },
    ];

    [Test]
    public void In_a_log_each_layer_gets_a_line_per_state_and_no_byte_counts_in_between()
    {
        var output = new StringWriter();
        var view = new PullProgressView(output, terminal: false);

        foreach (var p in Pull)
        {
            view.Report(p);
        }

        view.Finish();

        Assert.That(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            "  sha256:bbbb: already here", "  sha256:aaaa: downloaded (1 MiB)", "  sha256:aaaa: unpacked (1 MiB)",
        }));
    }

    [Test]
    public void On_a_terminal_each_layer_has_one_line_redrawn_in_place_with_a_bar()
    {
        var output = new StringWriter();
        var view = new PullProgressView(output, terminal: true);

        view.Report(Pull[0]);
        var first = output.ToString();
        foreach (var p in Pull.Skip(1))
        {
            view.Report(p);
        }

        view.Finish();
        var frames = output.ToString().Split("\u001b[2A"); // each redraw goes back up over the two layer lines

        Assert.That(first, Is.EqualTo("\u001b[2K  sha256:aaaa  [###############...............] 512 KiB / 1 MiB\n"), "half a bar for half the bytes");
        Assert.That(frames[^1].Replace("\u001b[2K", "", StringComparison.Ordinal), Is.EqualTo("  sha256:aaaa  unpacked (1 MiB)\n  sha256:bbbb  already here\n"));
    }
}
