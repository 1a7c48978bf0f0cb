using System.Management.Automation;
using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Commands;

/// <summary>
/// Base of every SandboxPS cmdlet: runs async core calls on the thread pool while the pipeline thread
/// pumps the writes they request, and turns failures into ErrorRecords with stable ids.
/// </summary>
/// <remarks>
/// PowerShell Standard 5.1 has no PipelineStopToken, so the cmdlet owns its token source: cancelled by
/// StopProcessing (Ctrl+C, Select-Object -First), disposed by Dispose (EndProcessing may never run).
/// WriteObject, WriteError, WriteProgress and ShouldProcess only work on the pipeline thread; async code
/// reaches them through <see cref="Emit"/>, <see cref="EmitError(ErrorRecord)"/>, <see cref="ShouldProcessAsync"/>, ...
/// </remarks>
public abstract class SandboxCmdletBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private PipelinePump? _pump;
    private bool _disposed;

    /// <summary>Cancelled when the pipeline stops; pass it to every core call.</summary>
    protected CancellationToken StopToken => _stopping.Token;

    /// <summary>The core facade (thread-safe; shared by every runspace of the process, so no runspace affinity).</summary>
    internal static SandboxManager Manager => SandboxManager.Default;

    /// <summary>How ShouldProcess and messages name a sandbox: <c>web-1 (docker, 1a2b3c4d5e6f)</c>.</summary>
    internal static string Describe(Sandbox sandbox) =>
        $"{sandbox.Name} ({sandbox.Provider}, {(sandbox.Id.Length > 12 ? sandbox.Id[..12] : sandbox.Id)})";

    /// <summary>The sandbox a <c>-Sandbox</c> value names (objects as they are, ids and names resolved by the core).</summary>
    internal static Task<Sandbox> ResolveAsync(SandboxRef target, CancellationToken cancellationToken) =>
        target.ResolveAsync((key, ct) => Manager.ResolveAsync(key, null, ct), cancellationToken);

    /// <summary>True when the caller bound <paramref name="parameterName"/>.</summary>
    protected bool IsBound(string parameterName) => MyInvocation.BoundParameters.ContainsKey(parameterName);

    /// <inheritdoc />
    protected sealed override void BeginProcessing() => Run(BeginProcessingAsync);

    /// <inheritdoc />
    protected sealed override void ProcessRecord() => Run(ProcessRecordAsync);

    /// <inheritdoc />
    protected sealed override void EndProcessing() => Run(EndProcessingAsync);

    /// <inheritdoc />
    protected sealed override void StopProcessing()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Stop raced with Dispose: nothing left to cancel.
        }
    }

    /// <summary>Async BeginProcessing; runs on the thread pool.</summary>
    protected virtual Task BeginProcessingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Async ProcessRecord; runs on the thread pool once per input.</summary>
    protected virtual Task ProcessRecordAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Async EndProcessing; runs on the thread pool. Put nothing here that must run.</summary>
    protected virtual Task EndProcessingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Writes an object to the pipeline (from any thread).</summary>
    protected void Emit(object? item) => Post(() => WriteObject(item));

    /// <summary>Writes a verbose message (from any thread).</summary>
    protected void EmitVerbose(string message) => Post(() => WriteVerbose(message));

    /// <summary>Writes a warning (from any thread).</summary>
    protected void EmitWarning(string message) => Post(() => WriteWarning(message));

    /// <summary>Writes a progress record (from any thread).</summary>
    protected void EmitProgress(ProgressRecord record) => Post(() => WriteProgress(record));

    /// <summary>Writes text to the information stream, shown by the host like Write-Host (from any thread).</summary>
    protected void EmitHostText(string text, bool noNewLine = false) =>
        Post(() => WriteInformation(new HostInformationMessage { Message = text, NoNewLine = noNewLine },
                                    ["PSHOST", "SandboxOutput"]));

    /// <summary>Writes a non-terminating error (from any thread).</summary>
    protected void EmitError(ErrorRecord error) => Post(() => WriteError(error));

    /// <summary>Writes a non-terminating error for a failure concerning one input (from any thread).</summary>
    protected void EmitError(Exception exception, object? target = null)
    {
        var classified = ErrorClassifier.Classify(exception, StopToken.IsCancellationRequested);
        if (classified is null)
        {
            throw new OperationCanceledException(StopToken);
        }
        EmitError(ErrorRecordFactory.Create(classified, target));
    }

    /// <summary>ShouldProcess on the pipeline thread; honours -WhatIf and -Confirm.</summary>
    protected Task<bool> ShouldProcessAsync(string target, string action)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                done.TrySetResult(ShouldProcess(target, action));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
                throw;
            }
        }, () => done.TrySetCanceled());
        return done.Task;
    }

    /// <summary>True when -WhatIf (or $WhatIfPreference) is in effect: then nothing may prompt.</summary>
    protected Task<bool> IsWhatIfAsync() =>
        OnPipelineThreadAsync(() =>
            (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound) && bound is SwitchParameter { IsPresent: true })
            || SessionState.PSVariable.GetValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true });

    /// <summary>ShouldContinue on the pipeline thread (a second, explicit question; -Force skips it).</summary>
    protected Task<bool> ShouldContinueAsync(string query, string caption) =>
        OnPipelineThreadAsync(() => ShouldContinue(query, caption));

    /// <summary>
    /// A file-system path from a PowerShell path, relative to PowerShell's current location (not the
    /// process's); other providers (registry, variables) are refused.
    /// </summary>
    protected Task<string> ResolveLocalPathAsync(string path, string parameterName) =>
        OnPipelineThreadAsync(() =>
        {
            var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            if (provider.Name != "FileSystem")
            {
                throw ParameterConversion.Invalid(parameterName, $"'{path}' is on the {provider.Name} provider",
                    "Pass a file-system path.");
            }
            return resolved;
        });

    /// <summary>Runs <paramref name="call"/> on the pipeline thread (session state, path resolution) and returns its result.</summary>
    protected Task<T> OnPipelineThreadAsync<T>(Func<T> call)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                done.TrySetResult(call());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }, () => done.TrySetCanceled());
        return done.Task;
    }

    private void Post(Action write, Action? abandon = null)
    {
        var pump = _pump ?? throw new InvalidOperationException("Write requested outside of a processing phase.");
        pump.Post(write, abandon);
    }

    private void Run(Func<CancellationToken, Task> body)
    {
        var pump = new PipelinePump();
        _pump = pump;
        try
        {
            pump.Run(body, StopToken, CancelQuietly);
        }
        catch (OperationCanceledException ex) when (StopToken.IsCancellationRequested && ErrorClassifier.Classify(ex, stopping: true) is null)
        {
            // Ctrl+C (or Select-Object -First upstream): a stop is never an error.
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is not IContainsErrorRecord && ex is not PipelineStoppedException)
        {
            var error = ErrorClassifier.Classify(ex, StopToken.IsCancellationRequested);
            if (error is null)
            {
                throw new PipelineStoppedException();
            }
            ThrowTerminatingError(ErrorRecordFactory.Create(error, error.Target));
        }
        finally
        {
            _pump = null;
        }
    }

    private void CancelQuietly()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Cancels and releases the token source. PowerShell calls this even when EndProcessing never ran.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; derived cmdlets override to add theirs.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (disposing)
        {
            CancelQuietly();
            _stopping.Dispose();
        }
    }

}
