using Ci.Pipeline.Values;

namespace Ci.Pipeline.Tests.Values;

public sealed class UnitsTests
{
    [TestCase("512Mi", 512L * 1024 * 1024)]
    [TestCase("2Gi", 2L * 1024 * 1024 * 1024)]
    [TestCase("512MB", 512L * 1000 * 1000)]
    [TestCase("1.5G", 1_500_000_000L)]
    [TestCase("64KiB", 65536L)]
    [TestCase("100B", 100L)]
    public void Sizes_are_read_in_decimal_and_binary_units(string text, long bytes)
    {
        Assert.That(Units.TryParseSize(text, out var value, out var error), Is.True, error);
        Assert.That(value, Is.EqualTo(bytes));
    }

    [TestCase("512", "has no unit")]
    [TestCase("512m", "units are case-sensitive")]
    [TestCase("lots", "is not a size")]
    [TestCase("2Gb", "unknown unit")]
    public void Bad_sizes_say_what_to_write(string text, string hint)
    {
        Assert.That(Units.TryParseSize(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(hint));
    }

    [TestCase("90s", 90)]
    [TestCase("5m", 300)]
    [TestCase("1h30m", 5400)]
    [TestCase("2d", 172800)]
    [TestCase("1.5h", 5400)]
    [TestCase("250ms", 0.25)]
    public void Durations_are_read(string text, double seconds)
    {
        Assert.That(Units.TryParseDuration(text, out var d, out var error), Is.True, error);
        Assert.That(d.TotalSeconds, Is.EqualTo(seconds));
    }

    [TestCase("10")]
    [TestCase("3x")]
    [TestCase("m5")]
    [TestCase("")]
    public void Bad_durations_are_refused(string text) => Assert.That(Units.TryParseDuration(text, out _, out _), Is.False);

    [TestCase("2", 2000)]
    [TestCase("0.5", 500)]
    [TestCase("1.5", 1500)]
    [TestCase("250m", 250)]
    public void Cpus_are_read_in_thousandths(string text, int milli)
    {
        Assert.That(Units.TryParseCpus(text, out var value, out var error), Is.True, error);
        Assert.That(value, Is.EqualTo(milli));
    }

    [TestCase("1.5.2")]
    [TestCase("0.0005")]
    [TestCase("two")]
    [TestCase("-1")]
    public void Bad_cpus_are_refused(string text) => Assert.That(Units.TryParseCpus(text, out _, out _), Is.False);

    [TestCase(256L * 1024 * 1024, "256 MiB")]
    [TestCase(1536L * 1024 * 1024, "1.5 GiB")]
    [TestCase(10L, "10 B")]
    public void Sizes_print_in_binary_units(long bytes, string text) => Assert.That(Units.FormatBytes(bytes), Is.EqualTo(text));
}
