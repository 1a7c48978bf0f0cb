using SandboxPS.Core.Automation;

namespace SandboxPS.Tests;

/// <summary>The cmdlets' async bridge: writes run on the calling thread, in order; stops are prompt and clean.</summary>
public class PipelinePumpTests
{
    [Fact(Timeout = 30_000)]
    public async Task Run_WritesRunOnTheCallingThreadInPostedOrder()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            var callingThread = Environment.CurrentManagedThreadId;
            var seen = new List<(int Value, int Thread)>();
            pump.Run(async ct =>
            {
                for (var i = 0; i < 50; i++)
                {
                    var value = i;
                    pump.Post(() => seen.Add((value, Environment.CurrentManagedThreadId)));
                    if (i % 10 == 0)
                    {
                        await Task.Yield();
                    }
                }
            }, CancellationToken.None, () => { });
            Assert.Equal(Enumerable.Range(0, 50), seen.Select(s => s.Value));
            Assert.All(seen, s => Assert.Equal(callingThread, s.Thread));
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Run_RequestAnsweredOnTheCallingThread_ContinuesTheBody()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            var answers = new List<bool>();
            pump.Run(async ct =>
            {
                for (var i = 0; i < 3; i++)
                {
                    // What ShouldProcessAsync does: a request the pipeline thread answers.
                    var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    var n = i;
                    pump.Post(() => done.TrySetResult(n % 2 == 0), () => done.TrySetCanceled());
                    answers.Add(await done.Task);
                }
            }, CancellationToken.None, () => { });
            Assert.Equal([true, false, true], answers);
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Run_BodyFailure_IsRethrownAsIs()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            var ex = Assert.Throws<InvalidTimeZoneException>(() =>
                pump.Run(async ct => { await Task.Yield(); throw new InvalidTimeZoneException("boom"); }, CancellationToken.None, () => { }));
            Assert.Equal("boom", ex.Message);
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Run_Stop_EndsWithCancellationAndAbandonsPendingRequests()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            using var stop = new CancellationTokenSource();
            var abandoned = new TaskCompletionSource<bool>();
            var bodyObservedCancel = false;
            Assert.Throws<OperationCanceledException>(() => pump.Run(async ct =>
            {
                var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                // The pipeline thread runs this write and stops. The next request is either still queued then
                // (abandoned by the drain, so the await throws) or posted after the stop (abandoned at once,
                // so Post throws): the body sees a cancellation either way.
                pump.Post(() => stop.Cancel());
                try
                {
                    pump.Post(() => answered.TrySetResult(true), () => { answered.TrySetCanceled(); abandoned.TrySetResult(true); });
                    await answered.Task;
                }
                catch (OperationCanceledException)
                {
                    bodyObservedCancel = true;
                    throw;
                }
            }, stop.Token, () => { }));
            Assert.True(abandoned.Task.IsCompleted, "the queued request was abandoned");
            Assert.True(bodyObservedCancel, "the body saw its request cancelled and unwound");
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Run_StopWhileBodyIgnoresItsToken_ReturnsWithinTheGrace()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            using var stop = new CancellationTokenSource();
            using var release = new ManualResetEventSlim();
            stop.CancelAfter(100);
            Assert.Throws<OperationCanceledException>(() =>
                pump.Run(_ => Task.Run(() => release.Wait(TimeSpan.FromSeconds(60))), stop.Token, () => { }));
            release.Set();
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Run_WriteFailure_CancelsTheBodyAndRethrows()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            using var bodyToken = new CancellationTokenSource();
            var cancelled = false;
            var ex = Assert.Throws<InvalidProgramException>(() => pump.Run(async _ =>
            {
                pump.Post(() => throw new InvalidProgramException("downstream stopped"));
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(60), bodyToken.Token);
                }
                catch (OperationCanceledException)
                {
                    cancelled = true;
                }
            }, CancellationToken.None, () => bodyToken.Cancel()));
            Assert.Equal("downstream stopped", ex.Message);
            Assert.True(cancelled, "the body was cancelled when the write failed");
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Post_AfterTheRunEnded_ThrowsCancellationAndAbandons()
    {
        await Task.Run(() =>
        {
            var pump = new PipelinePump();
            pump.Run(_ => Task.CompletedTask, CancellationToken.None, () => { });
            var abandoned = false;
            Assert.Throws<OperationCanceledException>(() => pump.Post(() => { }, () => abandoned = true));
            Assert.True(abandoned);
        });
    }
}
