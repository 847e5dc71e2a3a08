using System.Text;
using Ci.Pipeline.Secrets;

namespace Ci.Pipeline.Tests.Secrets;

public sealed class SecretMaskerTests
{
    private const string Secret = "hunter2-s3cr3t/value+x";

    private static SecretMasker Masker()
    {
        var m = new SecretMasker();
        m.Add(Secret);
        return m;
    }

    [Test]
    public void The_value_itself_is_masked() =>
        Assert.That(Masker().Apply($"token={Secret}!"), Is.EqualTo("token=***!"));

    [Test]
    public void The_url_encoded_form_is_masked() =>
        Assert.That(Masker().Apply("https://x/?t=" + Uri.EscapeDataString(Secret)), Does.Not.Contain(Uri.EscapeDataString(Secret)).And.Contain("***"));

    [TestCase("")]
    [TestCase("a")]
    [TestCase("user:")]
    [TestCase("Authorization: Basic ab")]
    public void The_base64_form_is_masked_at_any_alignment(string prefix)
    {
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(prefix + Secret + "&more"));

        var masked = Masker().Apply(encoded);

        Assert.That(masked, Does.Contain("***"));
        // What is left must not decode back to the secret's middle.
        Assert.That(masked, Does.Not.Contain(Convert.ToBase64String(Encoding.UTF8.GetBytes(Secret))[4..12]));
    }

    [Test]
    public void Every_line_of_a_multi_line_secret_is_masked()
    {
        var m = new SecretMasker();
        m.Add("-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA\n-----END KEY-----");

        Assert.That(m.Apply("line: MIIEpAIBAAKCAQEA"), Is.EqualTo("line: ***"));
    }

    [Test]
    public void Very_short_values_are_not_masked_so_logs_stay_readable()
    {
        var m = new SecretMasker();
        m.Add("on");

        Assert.That(m.Apply("turned on"), Is.EqualTo("turned on"));
    }
}
