using Ci.Isolation.Images;

namespace Ci.Isolation.Tests.Images;

public sealed class ImageConfigTests
{
    [Test]
    public void Every_setting_changes_the_fingerprint_and_equal_settings_keep_it()
    {
        var config = ImageConfig.Default;
        var variants = new[]
        {
            config with { Env = [.. config.Env, "A=1"] },
            config with { Cmd = ["/bin/bash"] },
            config with { Cmd = null },
            config with { Entrypoint = ["/init"] },
            config with { WorkingDir = "/app" },
            config with { User = "1000" },
        };

        Assert.That(variants.Select(v => v.Fingerprint()).Append(config.Fingerprint()).Distinct().Count(), Is.EqualTo(variants.Length + 1));
        Assert.That((config with { Env = [.. config.Env] }).Fingerprint(), Is.EqualTo(config.Fingerprint()));
    }
}
