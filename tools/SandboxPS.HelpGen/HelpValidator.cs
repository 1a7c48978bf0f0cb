namespace SandboxPS.HelpGen;

/// <summary>Cross-checks help sources against the cmdlets: nothing undocumented, nothing stale.</summary>
public static class HelpValidator
{
    private static readonly HashSet<string> AutoDocumented = new(StringComparer.OrdinalIgnoreCase) { "WhatIf", "Confirm" };

    /// <summary>Every problem found, each naming the file; empty when the help is complete.</summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<CmdletMetadata> cmdlets, IReadOnlyList<CommandHelp> help)
    {
        var problems = new List<string>();
        foreach (var dup in help.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add($"{string.Join(", ", dup.Select(d => d.SourcePath))}: error HG001: {dup.Key} is documented more than once.");
        }
        foreach (var h in help.Where(h => !cmdlets.Any(c => string.Equals(c.Name, h.Name, StringComparison.OrdinalIgnoreCase))))
        {
            problems.Add($"{h.SourcePath}: error HG002: {h.Name} is not a cmdlet of the assembly (stale help file or a typo).");
        }
        foreach (var cmdlet in cmdlets)
        {
            var h = help.FirstOrDefault(x => string.Equals(x.Name, cmdlet.Name, StringComparison.OrdinalIgnoreCase));
            if (h is null)
            {
                problems.Add($"docs/help/{cmdlet.Name}.md: error HG003: {cmdlet.Name} has no help source; write docs/help/{cmdlet.Name}.md.");
                continue;
            }
            if (!string.Equals(h.Name, cmdlet.Name, StringComparison.Ordinal))
            {
                problems.Add($"{h.SourcePath}: error HG004: the heading says '{h.Name}', the cmdlet is '{cmdlet.Name}'.");
            }
            if (h.Synopsis.Length == 0)
            {
                problems.Add($"{h.SourcePath}: error HG005: ## SYNOPSIS is empty.");
            }
            if (h.Description.Count == 0)
            {
                problems.Add($"{h.SourcePath}: error HG006: ## DESCRIPTION is empty.");
            }
            if (h.Examples.Count == 0 || h.Examples.Any(e => e.Code.Trim().Length == 0))
            {
                problems.Add($"{h.SourcePath}: error HG007: at least one example with code is required, and every example needs code.");
            }
            foreach (var p in cmdlet.Parameters.Where(p => !p.Sets.All(s => s.DontShow)))
            {
                if (!h.Parameters.TryGetValue(p.Name, out var text) || text.Count == 0)
                {
                    problems.Add($"{h.SourcePath}: error HG008: parameter -{p.Name} of {cmdlet.Name} is not described (add '### -{p.Name}' under ## PARAMETERS).");
                }
            }
            foreach (var documented in h.Parameters.Keys.Where(k => cmdlet.Parameter(k) is null && !AutoDocumented.Contains(k)))
            {
                problems.Add($"{h.SourcePath}: error HG009: -{documented} is described but {cmdlet.Name} has no such parameter.");
            }
        }
        return problems;
    }
}
