namespace Ci.Pipeline.Plan;

/// <summary>
/// Which secrets a run can have values for, to check the required ones before anything runs: the
/// names in the secrets file, and the runner's environment variables the user allowed by name.
/// </summary>
public sealed record SecretAvailability(IReadOnlySet<string> FileNames, IReadOnlySet<string> AllowedVariables)
{
    /// <summary>Whether secret <paramref name="name"/>, read from variable <paramref name="variable"/>, has a value.</summary>
    public bool Has(string name, string variable) => FileNames.Contains(name) || AllowedVariables.Contains(variable);
}
