using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>Lists the sessions of a sandbox (docs/help/Get-SandboxSession.md).</summary>
[Cmdlet(VerbsCommon.Get, "SandboxSession")]
[OutputType(typeof(SandboxSession))]
public sealed class GetSandboxSessionCommand : SandboxCmdletBase
{
    /// <summary>The sandbox: an object, an id or a name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [SandboxRefTransformation]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public SandboxRef Sandbox { get; set; } = null!;

    /// <summary>Session ids, with wildcards.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SessionIdCompleter))]
    public string[]? Id { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        try
        {
            var sandbox = await ResolveAsync(Sandbox, cancellationToken).ConfigureAwait(false);
            var client = await Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
            var patterns = Id?.Select(WildcardMatcher.Create).ToList();
            var matched = new HashSet<string>(StringComparer.Ordinal);
            foreach (var session in await client.ListSessionsAsync(cancellationToken).ConfigureAwait(false))
            {
                var hits = patterns?.Where(p => p.IsMatch(session.Id)).ToList();
                if (hits is null || hits.Count > 0)
                {
                    hits?.ForEach(h => matched.Add(h.Pattern));
                    Emit(SandboxActions.ToSession(sandbox, session));
                }
            }
            foreach (var missing in patterns?.Where(p => !p.HasWildcards && !matched.Contains(p.Pattern)) ?? [])
            {
                EmitError(new SandboxException(SandboxErrorKind.NotFound, "SandboxSessionNotFound",
                    $"Sandbox '{sandbox.Name}' has no session '{WildcardMatcher.Unescape(missing.Pattern)}'.", missing.Pattern), missing.Pattern);
            }
        }
        catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
        {
            EmitError(ex, Sandbox.ToString());
        }
    }
}
