using System.Diagnostics;
using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>
/// Copies files and directories into or out of a sandbox, with PowerShell path semantics on the local
/// side (docs/help/Copy-SandboxItem.md).
/// </summary>
[Cmdlet(VerbsCommon.Copy, "SandboxItem", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SandboxActionResult))]
public sealed class CopySandboxItemCommand : SandboxCmdletBase
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    /// <summary>What to copy; local paths may use wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>What to copy, taken literally.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>Where the copy goes.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>The sandbox, unless a path names it as NAME:/path.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("SandboxId")]
    [SandboxRefTransformation]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public SandboxRef? Sandbox { get; set; }

    /// <summary>Copy local items into the sandbox.</summary>
    [Parameter]
    public SwitchParameter ToSandbox { get; set; }

    /// <summary>Copy sandbox items to the local machine.</summary>
    [Parameter]
    public SwitchParameter FromSandbox { get; set; }

    /// <summary>Output a result per copied item.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        var literal = ParameterSetName == LiteralPathSet;
        var given = literal ? LiteralPath : Path;
        var plan = await OnPipelineThreadAsync(() => CopyPlanner.Plan(given, Destination, Sandbox is not null, ToSandbox, FromSandbox,
            name => SessionState.Drive.GetAll().Any(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase)))).ConfigureAwait(false);
        var target = plan.SandboxKey is { } key ? SandboxRef.From(key) : Sandbox!;
        var sandbox = await ResolveAsync(target, cancellationToken).ConfigureAwait(false);
        var client = await Manager.GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);

        if (plan.Direction == CopyDirection.ToSandbox)
        {
            var locals = await OnPipelineThreadAsync(() => ResolveSources(plan.Sources, literal)).ConfigureAwait(false);
            foreach (var local in locals)
            {
                // Several sources go into the destination directory, as Copy-Item does.
                var remote = locals.Count > 1 ? plan.Destination.TrimEnd('/') + "/" + System.IO.Path.GetFileName(local.TrimEnd('/', '\\')) : plan.Destination;
                if (!await ShouldProcessAsync($"{local} -> {sandbox.Name}:{remote}", "Copy into sandbox").ConfigureAwait(false))
                {
                    continue;
                }
                try
                {
                    var clock = Stopwatch.StartNew();
                    var written = await client.CopyToSandboxAsync(local, remote, cancellationToken).ConfigureAwait(false);
                    if (PassThru)
                    {
                        Emit(SandboxActions.FromWrite(sandbox, written, clock.Elapsed, SandboxActions.CopyTo));
                    }
                }
                catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    EmitError(ex, local);
                }
            }
            return;
        }

        var destination = await ResolveLocalPathAsync(plan.Destination, nameof(Destination)).ConfigureAwait(false);
        foreach (var remote in plan.Sources)
        {
            var local = plan.Sources.Count > 1 ? System.IO.Path.Combine(destination, System.IO.Path.GetFileName(remote.TrimEnd('/'))) : destination;
            if (plan.Sources.Count > 1)
            {
                Directory.CreateDirectory(destination);
            }
            if (!await ShouldProcessAsync($"{sandbox.Name}:{remote} -> {local}", "Copy out of sandbox").ConfigureAwait(false))
            {
                continue;
            }
            try
            {
                var clock = Stopwatch.StartNew();
                await client.CopyFromSandboxAsync(remote, local, cancellationToken).ConfigureAwait(false);
                if (PassThru)
                {
                    Emit(SandboxActions.FromCopyFrom(sandbox, remote, local, 0, clock.Elapsed));
                }
            }
            catch (SandboxException ex) when (!cancellationToken.IsCancellationRequested)
            {
                EmitError(ex, remote);
            }
        }
    }

    /// <summary>PowerShell resolution of local sources (wildcards for -Path), FileSystem only; on the pipeline thread.</summary>
    private List<string> ResolveSources(IReadOnlyList<string> sources, bool literal)
    {
        var result = new List<string>();
        foreach (var source in sources)
        {
            ProviderInfo provider;
            IEnumerable<string> paths;
            if (literal)
            {
                paths = [SessionState.Path.GetUnresolvedProviderPathFromPSPath(source, out provider, out _)];
            }
            else
            {
                paths = SessionState.Path.GetResolvedProviderPathFromPSPath(source, out provider);
            }
            if (provider.Name != "FileSystem")
            {
                throw ParameterConversion.Invalid(literal ? nameof(LiteralPath) : nameof(Path),
                    $"'{source}' is on the {provider.Name} provider", "Pass a file-system path.");
            }
            foreach (var path in paths)
            {
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    throw new SandboxException(SandboxErrorKind.NotFound, "LocalPathNotFound", $"Cannot find path '{path}' because it does not exist.", path);
                }
                result.Add(path);
            }
        }
        return result;
    }
}
