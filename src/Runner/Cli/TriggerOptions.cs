using System.CommandLine;
using Ci.Pipeline.Model;
using Ci.Pipeline.Plan;

namespace Ci.Runner.Cli;

/// <summary>Options that describe the trigger a plan is made for.</summary>
internal static class TriggerOptions
{
    public static readonly Option<string> Event = new("--event")
    {
        Description = "Event to plan for: push, pull_request, tag or manual",
        DefaultValueFactory = _ => "push",
    };

    public static readonly Option<string> Branch = new("--branch") { Description = "Branch name (default: the repository's current branch)" };

    public static readonly Option<string> Tag = new("--tag") { Description = "Tag name, for tag events" };

    public static readonly Option<string> Commit = new("--commit") { Description = "Commit id (default: the repository's HEAD)" };

    public static readonly Option<string[]> Changed = new("--changed")
    {
        Description = "A changed file, relative to the root (repeatable); without any, path conditions count as met",
        AllowMultipleArgumentsPerToken = true,
    };

    public static readonly Option<string[]> Var = new("--var")
    {
        Description = "A variable NAME=VALUE for ${{ }} and if: (repeatable)",
    };

    private static readonly Dictionary<string, TriggerEvent> Events = new()
    {
        ["push"] = TriggerEvent.Push,
        ["pull_request"] = TriggerEvent.PullRequest,
        ["tag"] = TriggerEvent.Tag,
        ["manual"] = TriggerEvent.Manual,
    };

    public static void AddTo(Command command)
    {
        Event.AcceptOnlyFromAmong([.. Events.Keys]);
        Var.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                var eq = token.Value.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || !Ci.Pipeline.Parsing.Names.IsEnvName(token.Value[..eq]))
                {
                    r.AddError($"--var '{token.Value}' must be NAME=VALUE with NAME of letters, digits and '_'");
                }
            }
        });
        foreach (var option in new Option[] { Event, Branch, Tag, Commit, Changed, Var })
        {
            command.Options.Add(option);
        }
    }

    /// <param name="root">Where to read the branch and commit from when the options do not give them; null: not from git (exec takes them from its sources).</param>
    public static TriggerContext Read(ParseResult result, string? root)
    {
        var git = root is null ? null : GitHead.TryRead(root);
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in result.GetValue(Var) ?? [])
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            vars[token[..eq]] = token[(eq + 1)..];
        }

        var changed = result.GetValue(Changed);
        return new TriggerContext
        {
            Event = Events[result.GetValue(Event) ?? "push"],
            Branch = result.GetValue(Branch) ?? git?.Branch ?? "",
            Tag = result.GetValue(Tag) ?? "",
            Commit = result.GetValue(Commit) ?? git?.Commit ?? "",
            ChangedFiles = changed is { Length: > 0 } ? changed : null,
            Variables = vars,
        };
    }
}
