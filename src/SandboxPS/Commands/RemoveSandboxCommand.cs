using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>Removes sandboxes and everything made for them; removing what is gone succeeds (docs/help/Remove-Sandbox.md).</summary>
[Cmdlet(VerbsCommon.Remove, "Sandbox", DefaultParameterSetName = ByName, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Sandbox))]
public sealed class RemoveSandboxCommand : SandboxCmdletBase
{
    private const string ByName = "ByName";
    private const string ById = "ById";
    private const string ByInputObject = "ByInputObject";
    private const string ExpiredSet = "Expired";
    private const string BySession = "BySession";

    /// <summary>Sandbox objects, usually from the pipeline.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
    [ValidateNotNull]
    public Sandbox[] InputObject { get; set; } = [];

    /// <summary>Names, with wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ById)]
    [Alias("SandboxId")]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = [];

    /// <summary>
    /// Sessions piped here by mistake: each gets a SessionPipedToRemoveSandbox error and nothing is removed
    /// (without this set a session would bind its own Id to -Id and silently remove nothing).
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = BySession, DontShow = true)]
    [ValidateNotNull]
    public SandboxSession[] Session { get; set; } = [];

    /// <summary>Remove every stopped, failed or expired sandbox.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExpiredSet)]
    public SwitchParameter Expired { get; set; }

    /// <summary>Only these providers (with -Name or -Expired).</summary>
    [Parameter(ParameterSetName = ByName)]
    [Parameter(ParameterSetName = ExpiredSet)]
    public SandboxProviderKind[]? Provider { get; set; }

    /// <summary>Remove every match of a wildcard without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed sandboxes.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        if (ParameterSetName == BySession)
        {
            foreach (var session in Session)
            {
                EmitError(SandboxIdMatcher.SessionIsNotASandbox(session), session);
            }
            return;
        }
        var targets = ParameterSetName switch
        {
            ByInputObject => InputObject.ToList(),
            _ => await FindAsync(cancellationToken).ConfigureAwait(false),
        };
        foreach (var sandbox in targets)
        {
            if (!await ShouldProcessAsync(Describe(sandbox), "Remove sandbox").ConfigureAwait(false))
            {
                continue;
            }
            try
            {
                await Manager.RemoveAsync(sandbox, cancellationToken).ConfigureAwait(false);
                EmitVerbose($"Removed {Describe(sandbox)}.");
                if (PassThru)
                {
                    Emit(sandbox);
                }
            }
            catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
            {
                EmitError(ex, sandbox);
            }
        }
    }

    private async Task<List<Sandbox>> FindAsync(CancellationToken cancellationToken)
    {
        var all = new List<Sandbox>();
        List<string?> providers = Provider is { Length: > 0 } ? Provider.Distinct().Select(p => (string?)p.ToProviderName()).ToList() : [null];
        foreach (var provider in providers)
        {
            await foreach (var sandbox in Manager.ListAsync(provider, null,
                (name, ex) => EmitWarning($"Provider '{name}' is unavailable, its sandboxes are not considered: {ex.Message}"),
                cancellationToken).ConfigureAwait(false))
            {
                all.Add(sandbox);
            }
        }
        switch (ParameterSetName)
        {
            case ExpiredSet:
            {
                var now = DateTimeOffset.UtcNow;
                return all.Where(s => SandboxIdMatcher.IsExpired(s, now)).ToList();
            }
            case ById:
            {
                var found = new List<Sandbox>();
                foreach (var id in Id)
                {
                    try
                    {
                        found.Add(SandboxIdMatcher.Pick(all, id));
                    }
                    catch (SandboxException ex) when (ex.Kind == SandboxErrorKind.NotFound)
                    {
                        // Idempotent: what is gone needs no removal.
                        EmitVerbose($"No sandbox has the id '{id}'; nothing to remove.");
                    }
                    catch (SandboxException ex)
                    {
                        EmitError(ex, id);
                    }
                }
                return found;
            }
            default:
            {
                var filter = new NameFilter(Name);
                var found = all.Where(filter.IsMatch).ToList();
                foreach (var missing in filter.UnmatchedLiterals)
                {
                    EmitVerbose($"No sandbox is named '{missing}'; nothing to remove.");
                }
                var wildcards = Name.Where(WildcardMatcher.ContainsWildcardCharacters).ToList();
                if (found.Count > 1 && wildcards.Count > 0 && !Force && !await IsWhatIfAsync().ConfigureAwait(false)
                    && !await ShouldContinueAsync(
                        $"{string.Join(", ", wildcards)} matches {found.Count} sandboxes: {string.Join(", ", found.Select(s => s.Name))}. Remove them all?",
                        "Remove sandboxes").ConfigureAwait(false))
                {
                    return [];
                }
                return found;
            }
        }
    }
}
