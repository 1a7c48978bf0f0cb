using System.Collections;
using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>Gets the sandboxes SandboxPS manages, made by this or any other process (docs/help/Get-Sandbox.md).</summary>
[Cmdlet(VerbsCommon.Get, "Sandbox", DefaultParameterSetName = ByName)]
[OutputType(typeof(Sandbox))]
public sealed class GetSandboxCommand : SandboxCmdletBase
{
    private const string ByName = "ByName";
    private const string ById = "ById";
    private const string BySession = "BySession";

    /// <summary>Names, with wildcards.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ById)]
    [Alias("SandboxId")]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = [];

    /// <summary>Sessions, usually from the pipeline: gets the sandbox each one lives in.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = BySession)]
    [ValidateNotNull]
    public SandboxSession[] Session { get; set; } = [];

    /// <summary>Only these providers.</summary>
    [Parameter]
    public SandboxProviderKind[]? Provider { get; set; }

    /// <summary>Only sandboxes with all these labels.</summary>
    [Parameter]
    public Hashtable? Label { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        var labels = Label is null ? null : ParameterConversion.ToStringDictionary(Label, nameof(Label));
        if (ParameterSetName is ById or BySession)
        {
            var all = new List<Sandbox>();
            await foreach (var sandbox in ListAsync(labels, cancellationToken).ConfigureAwait(false))
            {
                all.Add(sandbox);
            }
            foreach (var id in SandboxIdMatcher.IdsOf(Id, Session))
            {
                try
                {
                    Emit(SandboxIdMatcher.Pick(all, id));
                }
                catch (SandboxException ex)
                {
                    EmitError(ex, id);
                }
            }
            return;
        }

        var filter = new NameFilter(Name);
        await foreach (var sandbox in ListAsync(labels, cancellationToken).ConfigureAwait(false))
        {
            if (filter.IsMatch(sandbox))
            {
                Emit(sandbox);
            }
        }
        foreach (var missing in filter.UnmatchedLiterals)
        {
            EmitError(new SandboxException(SandboxErrorKind.NotFound, "SandboxNotFound",
                $"No sandbox is named '{missing}'{(labels is null && Provider is null ? "" : " (with the given -Provider/-Label filters)")}.", missing), missing);
        }
    }

    private async IAsyncEnumerable<Sandbox> ListAsync(IReadOnlyDictionary<string, string>? labels,
                                                      [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<string?> providers = Provider is { Length: > 0 } ? Provider.Distinct().Select(p => (string?)p.ToProviderName()).ToList() : [null];
        foreach (var provider in providers)
        {
            await foreach (var sandbox in Manager.ListAsync(provider, labels,
                (name, ex) => EmitWarning($"Provider '{name}' is unavailable, its sandboxes are not listed: {ex.Message}"),
                cancellationToken).ConfigureAwait(false))
            {
                yield return sandbox;
            }
        }
    }
}
