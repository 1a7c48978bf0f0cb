using System.Collections;
using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.Protocol;

namespace SandboxPS.Commands;

/// <summary>Starts a session (a persistent shell or Python interpreter) in a sandbox (docs/help/New-SandboxSession.md).</summary>
[Cmdlet(VerbsCommon.New, "SandboxSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SandboxSession))]
public sealed class NewSandboxSessionCommand : SandboxCmdletBase
{
    /// <summary>The sandbox: an object, an id or a name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [SandboxRefTransformation]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public SandboxRef Sandbox { get; set; } = null!;

    /// <summary>Shell or Python.</summary>
    [Parameter]
    [ValidateSet("Shell", "Python", IgnoreCase = true)]
    public string Kind { get; set; } = "Shell";

    /// <summary>Session id to use; the server picks one when omitted.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z0-9_.-]{1,64}$")]
    public string? Id { get; set; }

    /// <summary>Initial working directory.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Environment variables of the session.</summary>
    [Parameter]
    public Hashtable? Environment { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        var request = new CreateSessionRequest
        {
            Kind = Kind.Equals("Python", StringComparison.OrdinalIgnoreCase) ? SessionKinds.Python : SessionKinds.Shell,
            Id = Id,
            Cwd = WorkingDirectory,
            Env = Environment is null ? null : ParameterConversion.ToStringDictionary(Environment, nameof(Environment)),
        };
        try
        {
            var sandbox = await ResolveAsync(Sandbox, cancellationToken).ConfigureAwait(false);
            if (!await ShouldProcessAsync(Describe(sandbox), $"Start a {request.Kind} session{(Id is null ? "" : $" '{Id}'")}").ConfigureAwait(false))
            {
                return;
            }
            var client = await Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
            var session = await client.CreateSessionAsync(request, cancellationToken).ConfigureAwait(false);
            Emit(SandboxActions.ToSession(sandbox, session));
        }
        catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
        {
            EmitError(ex, Sandbox.ToString());
        }
    }
}
