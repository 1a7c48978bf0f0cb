using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace SandboxPS.Core.Automation;

/// <summary>
/// The async bridge of the cmdlets, without PowerShell: runs an async body on the thread pool while the
/// calling thread (PowerShell's pipeline thread) executes the writes the body posts, in order. PowerShell
/// allows WriteObject, WriteError, WriteProgress and ShouldProcess only on the pipeline thread.
/// </summary>
/// <remarks>
/// Outcomes of <see cref="Run"/>: returns when the body completed; rethrows the body's exception; throws
/// <see cref="OperationCanceledException"/> when <c>stop</c> fired (the cmdlet turns it into
/// PipelineStoppedException); rethrows an exception a write threw on the calling thread (for example
/// PowerShell's StopUpstreamCommandsException) after cancelling the body. In every case, writes that were
/// posted but not executed are abandoned (their <c>abandon</c> callback runs, so awaiting requests such
/// as ShouldProcess end), and the body gets <see cref="DrainGrace"/> to unwind before Run returns.
/// </remarks>
internal sealed class PipelinePump
{
    /// <summary>How long Run waits for a cancelled body to unwind; bounded so a body ignoring its token cannot hang the pipeline.</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    private readonly BlockingCollection<Item> _queue = new();

    /// <summary>Queues <paramref name="write"/> for the pipeline thread.</summary>
    /// <exception cref="OperationCanceledException">The pump no longer runs writes (stopping or finished); <paramref name="abandon"/> has run.</exception>
    public void Post(Action write, Action? abandon = null)
    {
        try
        {
            _queue.Add(new Item(write, abandon));
        }
        catch (InvalidOperationException)
        {
            abandon?.Invoke();
            throw new OperationCanceledException("The pipeline no longer accepts output.");
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on the thread pool and the posted writes on this thread until the body ends.
    /// </summary>
    /// <param name="body">The async work; receives <paramref name="stop"/>.</param>
    /// <param name="stop">Fires on Ctrl+C (StopProcessing).</param>
    /// <param name="cancelBody">Cancels the body's token (used when a write fails).</param>
    public void Run(Func<CancellationToken, Task> body, CancellationToken stop, Action cancelBody)
    {
        ArgumentNullException.ThrowIfNull(body);
        var work = Task.Run(async () =>
        {
            try
            {
                await body(stop).ConfigureAwait(false);
            }
            finally
            {
                _queue.CompleteAdding();
            }
        });
        try
        {
            foreach (var item in _queue.GetConsumingEnumerable(stop))
            {
                item.Write();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Drain(work);
            throw new OperationCanceledException(stop);
        }
        catch (Exception ex)
        {
            cancelBody();
            Drain(work);
            ExceptionDispatchInfo.Capture(ex).Throw();
        }
        work.GetAwaiter().GetResult();
    }

    private void Drain(Task work)
    {
        _queue.CompleteAdding();
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            item.Abandon?.Invoke();
        }
        try
        {
            work.Wait(DrainGrace);
        }
        catch (AggregateException)
        {
            // The body's failure after a stop or a failed write is not what the caller reports.
        }
    }

    private sealed record Item(Action Write, Action? Abandon);
}
