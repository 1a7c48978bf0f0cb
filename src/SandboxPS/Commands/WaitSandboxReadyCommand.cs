using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>Waits until sandboxes answer, in parallel, with progress (docs/help/Wait-SandboxReady.md).</summary>
[Cmdlet(VerbsLifecycle.Wait, "SandboxReady", DefaultParameterSetName = ByInputObject)]
[OutputType(typeof(Sandbox))]
public sealed class WaitSandboxReadyCommand : SandboxCmdletBase
{
    private const string ByInputObject = "ByInputObject";
    private const string ByName = "ByName";
    private const string ById = "ById";
    private const string BySession = "BySession";

    private readonly List<(Sandbox Sandbox, Task<Sandbox> Wait)> _waits = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private int _completed;

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

    /// <summary>Sessions, usually from the pipeline: waits for the sandbox each one lives in.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = BySession)]
    [ValidateNotNull]
    public SandboxSession[] Session { get; set; } = [];

    /// <summary>Seconds to wait for each sandbox.</summary>
    [Parameter]
    [Alias("Timeout")]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; } = (int)SandboxManager.DefaultReadyTimeout.TotalSeconds;

    /// <summary>Output the ready sandboxes.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override async Task ProcessRecordAsync(CancellationToken cancellationToken)
    {
        foreach (var sandbox in await TargetsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_seen.Add(sandbox.Provider + "|" + sandbox.Id))
            {
                // Every wait starts now, so many sandboxes wait in parallel, not one after another.
                _waits.Add((sandbox, Manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(TimeoutSec), cancellationToken)));
            }
        }
        // Report what finished already, so results flow down the pipeline while input still arrives.
        await ReportAsync(onlyCompleted: true, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override Task EndProcessingAsync(CancellationToken cancellationToken) =>
        ReportAsync(onlyCompleted: false, cancellationToken);

    private async Task<IReadOnlyList<Sandbox>> TargetsAsync(CancellationToken cancellationToken)
    {
        if (ParameterSetName == ByInputObject)
        {
            return InputObject;
        }
        var all = new List<Sandbox>();
        await foreach (var sandbox in Manager.ListAsync(null, null, (name, ex) => EmitWarning($"Provider '{name}' is unavailable: {ex.Message}"), cancellationToken).ConfigureAwait(false))
        {
            all.Add(sandbox);
        }
        var found = new List<Sandbox>();
        if (ParameterSetName is ById or BySession)
        {
            foreach (var id in SandboxIdMatcher.IdsOf(Id, Session))
            {
                try
                {
                    found.Add(SandboxIdMatcher.Pick(all, id));
                }
                catch (SandboxException ex)
                {
                    EmitError(ex, id);
                }
            }
            return found;
        }
        var filter = new NameFilter(Name);
        found.AddRange(all.Where(filter.IsMatch));
        foreach (var missing in filter.UnmatchedLiterals)
        {
            EmitError(new SandboxException(SandboxErrorKind.NotFound, "SandboxNotFound", $"No sandbox is named '{missing}'.", missing), missing);
        }
        return found;
    }

    private async Task ReportAsync(bool onlyCompleted, CancellationToken cancellationToken)
    {
        var progress = new ProgressRecord(2, "Wait-SandboxReady", "Waiting");
        var showProgress = !onlyCompleted && _waits.Count > 1;
        while (_waits.Count > 0)
        {
            if (showProgress)
            {
                var total = _completed + _waits.Count;
                progress.StatusDescription = $"{_completed} of {total} sandboxes ready or failed";
                progress.CurrentOperation = "Waiting for " + string.Join(", ", _waits.Take(5).Select(w => w.Sandbox.Name)) + (_waits.Count > 5 ? ", ..." : "");
                progress.PercentComplete = (int)(100.0 * _completed / total);
                EmitProgress(progress);
            }
            var done = _waits.FirstOrDefault(w => w.Wait.IsCompleted);
            if (done.Wait is null)
            {
                if (onlyCompleted)
                {
                    return;
                }
                await Task.WhenAny(_waits.Select(w => w.Wait)).WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            _waits.Remove(done);
            _completed++;
            try
            {
                var ready = await done.Wait.ConfigureAwait(false);
                EmitVerbose($"{Describe(ready)} is ready.");
                if (PassThru)
                {
                    Emit(ready);
                }
            }
            catch (SandboxException ex)
            {
                EmitError(ex, done.Sandbox);
            }
        }
        if (showProgress)
        {
            progress.RecordType = ProgressRecordType.Completed;
            EmitProgress(progress);
        }
    }
}
