namespace Ci.Pipeline.Diagnostics;

/// <summary>
/// Every diagnostic code the pipeline language emits. Codes are stable: tools and users match on
/// them. PL0xxx are errors, PL1xxx warnings. docs/pipeline-reference.md lists them all, and a
/// test keeps the two in step.
/// </summary>
public static class DiagnosticCodes
{
    // Reading the file
    public const string YamlSyntax = "PL0001";
    public const string FileTooLarge = "PL0002";
    public const string NestingTooDeep = "PL0003";
    public const string AliasExpansionTooLarge = "PL0004";
    public const string DuplicateKey = "PL0005";
    public const string UnsupportedYaml = "PL0006";
    public const string UnknownAnchor = "PL0007";
    public const string FileNotFound = "PL0008";
    public const string InvalidEncoding = "PL0009";

    // Shape of the document
    public const string WrongType = "PL0010";
    public const string MissingKey = "PL0011";
    public const string UnknownKey = "PL0012";
    public const string InvalidValue = "PL0013";
    public const string InvalidDuration = "PL0014";
    public const string InvalidSize = "PL0015";
    public const string InvalidCpus = "PL0016";
    public const string OutOfRange = "PL0017";
    public const string InvalidName = "PL0018";
    public const string InvalidPattern = "PL0019";

    // The job graph
    public const string UnknownNeed = "PL0020";
    public const string DependencyCycle = "PL0021";
    public const string EmptyJob = "PL0022";
    public const string NoJobs = "PL0023";
    public const string DuplicateJob = "PL0024";

    // Matrix
    public const string MatrixTooLarge = "PL0030";
    public const string InvalidMatrix = "PL0031";

    // Expressions and interpolation
    public const string ExpressionSyntax = "PL0040";
    public const string UnknownVariable = "PL0041";
    public const string InterpolationSyntax = "PL0042";

    // Secrets
    public const string SecretInRepository = "PL0050";
    public const string SecretMisuse = "PL0051";
    public const string SecretMissing = "PL0052";

    // Includes
    public const string IncludeInvalid = "PL0060";
    public const string IncludeCycle = "PL0061";
    public const string RootOnlyKey = "PL0062";

    // What the language describes and this runner cannot run yet: refused, never accepted and ignored
    public const string NotRunYet = "PL0070";

    public const string TooManyDiagnostics = "PL0099";

    // Warnings
    public const string Deprecated = "PL1001";
    public const string PatternMatchesNothing = "PL1002";
    public const string Ignored = "PL1003";
    public const string CacheNeverHits = "PL1004";

    /// <summary>Every code with a one-line description, for the reference and for <c>--json</c> consumers.</summary>
    public static IReadOnlyDictionary<string, string> All { get; } = new Dictionary<string, string>
    {
        [YamlSyntax] = "the file is not well-formed YAML",
        [FileTooLarge] = "the file is larger than the limit (1 MiB per file)",
        [NestingTooDeep] = "nesting deeper than the limit (64 levels)",
        [AliasExpansionTooLarge] = "aliases expand to more nodes than the limit (a 'billion laughs' document)",
        [DuplicateKey] = "a mapping has the same key twice",
        [UnsupportedYaml] = "a YAML feature the language does not accept (several documents, complex keys, tags)",
        [UnknownAnchor] = "an alias names an anchor that is not defined before it",
        [FileNotFound] = "the pipeline file does not exist",
        [WrongType] = "a value has the wrong type (for example a list where a mapping is expected)",
        [MissingKey] = "a required key is missing",
        [UnknownKey] = "a key the language does not know, with the nearest known key as a hint",
        [InvalidValue] = "a value outside the accepted set",
        [InvalidDuration] = "a duration that cannot be read (use 90s, 5m, 1h30m, 2d)",
        [InvalidSize] = "a size that cannot be read (use 512Mi, 2Gi, 500M, 1G)",
        [InvalidCpus] = "a CPU count that cannot be read (use 2, 0.5 or 500m)",
        [OutOfRange] = "a number outside its allowed range",
        [InvalidName] = "a job, variable or matrix name with characters that are not allowed",
        [InvalidPattern] = "a glob or regular expression that cannot be used",
        [UnknownNeed] = "needs names a job that does not exist",
        [DependencyCycle] = "jobs need each other in a cycle; the message names it",
        [EmptyJob] = "a job has no steps",
        [NoJobs] = "the pipeline has no jobs",
        [DuplicateJob] = "two jobs (or matrix cells) have the same name",
        [MatrixTooLarge] = "a matrix expands to more cells than the limit (256 per job)",
        [InvalidMatrix] = "a matrix axis is empty, or include/exclude name unknown axes",
        [ExpressionSyntax] = "an if: expression cannot be parsed",
        [UnknownVariable] = "an expression or ${{ }} names a variable that is not defined",
        [InterpolationSyntax] = "a ${{ }} is not closed or is empty",
        [SecretInRepository] = "a secret value is written in the repository",
        [SecretMisuse] = "a secret is used outside env:, where it could leak into logs or the plan",
        [NotRunYet] = "a feature the language describes that this version of the runner cannot run yet (services): refused rather than ignored",
        [SecretMissing] = "a declared secret has no value in the runner's environment or secrets file",
        [IncludeInvalid] = "an include path is absolute, leaves the repository, or does not exist",
        [IncludeCycle] = "files include each other in a cycle",
        [RootOnlyKey] = "a key that only the root pipeline file may set appears in an included file",
        [TooManyDiagnostics] = "reporting stopped after 100 diagnostics",
        [Deprecated] = "a deprecated form that still works; the message gives the current one",
        [PatternMatchesNothing] = "a key_files or cache key pattern matches no file",
        [Ignored] = "a setting that has no effect where it is written",
        [CacheNeverHits] = "a cache: layer step after a step that is not cached, so its key changes every run and it never hits",
    };
}
