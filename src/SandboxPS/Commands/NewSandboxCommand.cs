using System.Collections;
using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>Creates a sandbox (docs/help/New-Sandbox.md).</summary>
[Cmdlet(VerbsCommon.New, "Sandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(Sandbox))]
public sealed class NewSandboxCommand : SandboxCmdletBase
{
    /// <summary>Name of the sandbox; generated when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Where the sandbox runs: Process or Docker.</summary>
    [Parameter]
    public SandboxProviderKind Provider { get; set; }

    /// <summary>Container image to run (Docker).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Image { get; set; }

    /// <summary>Runtime name or runtime file to build and run (Docker).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RuntimeNameCompleter))]
    public string? Runtime { get; set; }

    /// <summary>User labels.</summary>
    [Parameter]
    public Hashtable? Label { get; set; }

    /// <summary>Environment variables.</summary>
    [Parameter]
    public Hashtable? Environment { get; set; }

    /// <summary>Working directory inside the sandbox.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Time to live.</summary>
    [Parameter]
    [DurationTransformation("TimeToLive")]
    public TimeSpan TimeToLive { get; set; }

    /// <summary>Idle timeout.</summary>
    [Parameter]
    [DurationTransformation("IdleTimeout")]
    public TimeSpan IdleTimeout { get; set; }

    /// <summary>CPU limit in cores.</summary>
    [Parameter]
    public double Cpus { get; set; }

    /// <summary>Memory limit in MiB.</summary>
    [Parameter]
    public long MemoryMB { get; set; }

    /// <summary>Memory limit with a unit (512m, 2g).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Memory { get; set; }

    /// <summary>Maximum number of processes.</summary>
    [Parameter]
    public long PidsLimit { get; set; }

    /// <summary>Network mode (bridge, none, or a network name).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NetworkMode { get; set; }

    /// <summary>Read-only root file system.</summary>
    [Parameter]
    public SwitchParameter ReadOnlyRootFilesystem { get; set; }

    /// <summary>User to run as.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? User { get; set; }

    /// <summary>Maximum concurrent sessions.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int SessionLimit { get; set; }

    /// <summary>Provider-specific options.</summary>
    [Parameter]
    public Hashtable? ProviderOption { get; set; }

    /// <summary>Wait until the sandbox is ready.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Readiness timeout in seconds, with -Wait.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; } = (int)SandboxManager.DefaultReadyTimeout.TotalSeconds;

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        var parameters = new NewSandboxParameters
        {
            Provider = IsBound(nameof(Provider)) ? Provider : null,
            Image = Image,
            Runtime = Runtime,
            Name = Name,
            Label = Label,
            Environment = Environment,
            WorkingDirectory = WorkingDirectory,
            TimeToLive = IsBound(nameof(TimeToLive)) ? TimeToLive : null,
            IdleTimeout = IsBound(nameof(IdleTimeout)) ? IdleTimeout : null,
            Cpus = IsBound(nameof(Cpus)) ? Cpus : null,
            MemoryMB = IsBound(nameof(MemoryMB)) ? MemoryMB : null,
            Memory = Memory,
            PidsLimit = IsBound(nameof(PidsLimit)) ? PidsLimit : null,
            NetworkMode = NetworkMode,
            ReadOnlyRootFilesystem = ReadOnlyRootFilesystem.IsPresent,
            User = User,
            MaxSessions = IsBound(nameof(SessionLimit)) ? SessionLimit : null,
            ProviderOption = ProviderOption,
        };
        string? runtimePath = null;
        if (Runtime is not null && NewSandboxRequestBuilder.LooksLikePath(Runtime))
        {
            runtimePath = await ResolveLocalPathAsync(Runtime, nameof(Runtime)).ConfigureAwait(false);
        }
        var request = NewSandboxRequestBuilder.Build(parameters, _ => runtimePath!);
        if (!await ShouldProcessAsync(request.Target, "Create sandbox").ConfigureAwait(false))
        {
            return;
        }

        EmitVerbose($"Creating sandbox {request.Target}.");
        try
        {
            Emit(await CreateAsync(request, cancellationToken).ConfigureAwait(false));
        }
        catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // One failed create among piped names does not stop the others; -ErrorAction Stop makes it terminating.
            EmitError(ex, request.Spec.Name);
        }
    }

    private async Task<Sandbox> CreateAsync(NewSandboxRequest request, CancellationToken cancellationToken)
    {
        if (!Wait)
        {
            var created = await Manager.CreateAsync(request.Provider, request.Spec, cancellationToken).ConfigureAwait(false);
            EmitVerbose($"Created {Describe(created)}.");
            return created;
        }
        ProgressRecord? progress = null;
        try
        {
            // A sandbox that never becomes ready (failed, timed out, or Ctrl+C during the wait) is removed
            // by the core before the original error surfaces.
            return await Manager.CreateReadyAsync(request.Provider, request.Spec, TimeSpan.FromSeconds(TimeoutSec), sandbox =>
            {
                EmitVerbose($"Created {Describe(sandbox)}.");
                progress = new ProgressRecord(1, "New-Sandbox", $"Waiting for {sandbox.Name} to become ready");
                EmitProgress(progress);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (progress is not null)
            {
                progress.RecordType = ProgressRecordType.Completed;
                EmitProgress(progress);
            }
        }
    }
}
