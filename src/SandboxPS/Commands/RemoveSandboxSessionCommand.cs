using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.Protocol;

namespace SandboxPS.Commands;

/// <summary>Ends sessions in a sandbox; ending one that is gone succeeds (docs/help/Remove-SandboxSession.md).</summary>
[Cmdlet(VerbsCommon.Remove, "SandboxSession", DefaultParameterSetName = ById, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SandboxSession))]
public sealed class RemoveSandboxSessionCommand : SandboxCmdletBase
{
    private const string ById = "ById";
    private const string ByInputObject = "ByInputObject";

    /// <summary>Session objects, usually from the pipeline.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
    [ValidateNotNull]
    public SandboxSession[] InputObject { get; set; } = [];

    /// <summary>The sandbox: an object, an id or a name.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ById)]
    [SandboxRefTransformation]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public SandboxRef Sandbox { get; set; } = null!;

    /// <summary>Session ids.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ById)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SessionIdCompleter))]
    public string[] Id { get; set; } = [];

    /// <summary>Output the removed sessions.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        var targets = ParameterSetName == ByInputObject
            ? InputObject.GroupBy(s => s.SandboxId, StringComparer.Ordinal).Select(g => (Ref: SandboxRef.From(g.Key), Ids: g.Select(s => s.Id).ToArray()))
            : [(Ref: Sandbox, Ids: Id)];
        foreach (var (target, ids) in targets)
        {
            try
            {
                var sandbox = await ResolveAsync(target, cancellationToken).ConfigureAwait(false);
                var client = await Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
                var existing = (await client.ListSessionsAsync(cancellationToken).ConfigureAwait(false))
                    .ToDictionary(s => s.Id, StringComparer.Ordinal);
                foreach (var id in ids.Distinct(StringComparer.Ordinal))
                {
                    if (!existing.TryGetValue(id, out var info))
                    {
                        EmitVerbose($"Session '{id}' of {sandbox.Name} does not exist; nothing to remove.");
                        continue;
                    }
                    if (!await ShouldProcessAsync($"session '{id}' of {Describe(sandbox)}", "Remove session").ConfigureAwait(false))
                    {
                        continue;
                    }
                    try
                    {
                        await client.DeleteSessionAsync(id, cancellationToken).ConfigureAwait(false);
                    }
                    catch (SandboxException ex) when (ex.ErrorId == ErrorIds.SessionNotFound)
                    {
                        // Ended between the listing and the delete: the outcome the caller wanted.
                    }
                    if (PassThru)
                    {
                        Emit(SandboxActions.ToSession(sandbox, info));
                    }
                }
            }
            catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
            {
                EmitError(ex, target.ToString());
            }
        }
    }
}
