using System.Diagnostics;

namespace SandboxPS.Core.Providers.Kit;

/// <summary>
/// Cleanup-on-failed-create, once for every provider: register an undo step for each resource as it
/// is made; on failure <see cref="RollBackAsync"/> runs them newest first within its own budget (the
/// caller's token may be cancelled already) and swallows their errors, so the original error is the
/// one the caller sees. Use:
/// <code>
/// var undo = new CreateUndo(Name, name);
/// try { …; undo.Add("container", ct => DeleteAsync(id, ct)); …; return sandbox; }
/// catch (Exception ex) { await undo.RollBackAsync(); if (CreateUndo.Surfaces(ex)) throw; throw undo.Wrap(ex); }
/// </code>
/// </summary>
public sealed class CreateUndo(string provider, string sandboxName)
{
    /// <summary>How long the undo steps of one failed create may take together.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    private readonly List<(string What, Func<CancellationToken, Task> Undo)> _steps = [];

    /// <summary>Registers the undo of something this create made (idempotent steps: they may run for a half-made resource).</summary>
    public void Add(string what, Func<CancellationToken, Task> undo)
    {
        lock (_steps)
        {
            _steps.Add((what, undo));
        }
    }

    /// <summary>Registers a synchronous undo step.</summary>
    public void Add(string what, Action undo) => Add(what, _ => { undo(); return Task.CompletedTask; });

    /// <summary>Runs every undo step, newest first, within <see cref="Budget"/>; failures only go to the trace.</summary>
    public async Task RollBackAsync()
    {
        (string What, Func<CancellationToken, Task> Undo)[] steps;
        lock (_steps)
        {
            steps = [.. _steps];
            _steps.Clear();
        }
        using var budget = new CancellationTokenSource(Budget);
        for (int i = steps.Length - 1; i >= 0; i--)
        {
            try
            {
                await steps[i].Undo(budget.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Trace.WriteLine($"sandboxps: {provider}: undoing the {steps[i].What} of failed create '{sandboxName}' failed: {ex.Message}");
            }
        }
    }

    /// <summary>True for errors that reach the caller as they are (ours, and cancellation).</summary>
    public static bool Surfaces(Exception ex) => ex is SandboxException or OperationCanceledException;

    /// <summary>Any other error, as the error the caller gets (default Internal / <c>SandboxCreateFailed</c>; the original inside).</summary>
    public SandboxException Wrap(Exception ex, SandboxErrorKind kind = SandboxErrorKind.Internal, string errorId = "SandboxCreateFailed") =>
        new(kind, errorId, $"Creating {provider} sandbox '{sandboxName}' failed: {ex.Message}", sandboxName, ex);
}
