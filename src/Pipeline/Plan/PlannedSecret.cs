namespace Ci.Pipeline.Plan;

/// <summary>A secret the pipeline declares: its name, the runner's variable it may come from (its <c>from_env</c>, else its name), and whether it may be missing.</summary>
public sealed record PlannedSecret(string Name, string Variable, bool Optional);
