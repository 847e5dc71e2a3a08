using Ci.Isolation.Images;

namespace Ci.Isolation.Build;

/// <summary>A build: the Containerfile, its context directory, the name to give the image and the build arguments.</summary>
public sealed record BuildOptions(string Containerfile, string Context, ImageReference Tag)
{
    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = new Dictionary<string, string>();

    /// <summary>Rebuild every step even when its cache key is known.</summary>
    public bool NoCache { get; init; }
}

/// <summary>One line of build progress: the step, what it is, and whether it came from the cache.</summary>
public sealed record BuildStep(int Index, int Count, string Instruction, bool Cached);
