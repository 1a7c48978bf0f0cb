using System.Diagnostics;
using SandboxPS.Core.Providers.Process;

namespace SandboxPS.Core.Tests;

/// <summary>Readiness and start-up failures, driven by tiny shell scripts that stand in for a misbehaving server.</summary>
public sealed class ProcessProviderFakeServerTests : IAsyncLifetime
{
    private readonly TempStateDir _state = new();

    public Task InitializeAsync() => _state.InitializeAsync();
    public Task DisposeAsync() => _state.DisposeAsync();

    [Fact(Timeout = 60_000)]
    public async Task CreateAsync_ServerExitsAtStart_FailsWithExitCodeAndOutputAndLeavesNoState()
    {
        var fake = _state.FakeServer("echo 'config is broken: no such thing' >&2; exit 3");
        var provider = _state.NewProvider();
        var spec = new SandboxSpec { Name = "dies-at-start" };
        spec.ProviderOptions["serverPath"] = fake;

        var ex = await Assert.ThrowsAsync<SandboxNotRunningException>(() => provider.CreateAsync(spec, Guard.Minutes(1)));

        Assert.Equal(3, ex.ExitCode);
        Assert.Contains(ex.LastLogLines, l => l.Contains("config is broken"));
        Assert.Contains("config is broken", ex.Message);
        await foreach (var _ in provider.ListAsync())
        {
            Assert.Fail("a failed create must not leave a record");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitReadyAsync_ServerDiesAfterStart_FailsFastWithExitCodeAndLastLines()
    {
        // Reports a port nobody listens on, prints a line, then dies with 7.
        var fake = _state.FakeServer("echo '{\"listening\":\"http://127.0.0.1:9\",\"pid\":'$$'}'; echo 'fatal: dying now'; sleep 0.3; exit 7");
        var manager = _state.NewManager();
        var spec = new SandboxSpec { Name = "dies-later" };
        spec.ProviderOptions["serverPath"] = fake;
        var sandbox = await manager.CreateAsync("process", spec, Guard.Minutes(1));

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<SandboxNotRunningException>(() => manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(45), Guard.Minutes(1)));

        Assert.Equal(SandboxErrorIds.SandboxNotRunning, ex.ErrorId);
        Assert.Equal(7, ex.ExitCode);
        Assert.Contains(ex.LastLogLines, l => l.Contains("fatal: dying now"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "readiness must notice the death, not wait out its timeout");
        var status = await manager.GetStatusAsync(sandbox);
        Assert.Equal(SandboxState.Failed, status.State);
        await manager.RemoveAsync(sandbox);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitReadyAsync_ServerNeverAnswers_TimesOutWithNamedError()
    {
        var fake = _state.FakeServer("echo '{\"listening\":\"http://127.0.0.1:9\",\"pid\":'$$'}'; sleep 60");
        var manager = _state.NewManager();
        var spec = new SandboxSpec();
        spec.ProviderOptions["serverPath"] = fake;
        var sandbox = await manager.CreateAsync("process", spec, Guard.Minutes(1));

        var ex = await Assert.ThrowsAsync<SandboxException>(() => manager.WaitReadyAsync(sandbox, TimeSpan.FromMilliseconds(400), Guard.Minutes(1)));

        Assert.Equal(SandboxErrorKind.Timeout, ex.Kind);
        Assert.Equal(SandboxErrorIds.SandboxReadyTimeout, ex.ErrorId);
        Assert.Contains("400ms", ex.Message);
        await manager.RemoveAsync(sandbox);
        Assert.Equal(SandboxState.Gone, (await manager.GetStatusAsync(sandbox)).State);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateReadyAsync_CancelledOrTimedOutDuringTheWait_RemovesTheSandbox()
    {
        var fake = _state.FakeServer("echo '{\"listening\":\"http://127.0.0.1:9\",\"pid\":'$$'}'; sleep 60");
        var manager = _state.NewManager();
        foreach (var cancel in new[] { true, false })
        {
            var spec = new SandboxSpec { Name = cancel ? "cancelled-wait" : "timed-out-wait" };
            spec.ProviderOptions["serverPath"] = fake;
            Sandbox? created = null;
            using var ctrlC = new CancellationTokenSource();
            var wait = manager.CreateReadyAsync("process", spec, cancel ? TimeSpan.FromSeconds(45) : TimeSpan.FromMilliseconds(300),
                s => { created = s; if (cancel) ctrlC.CancelAfter(200); }, ctrlC.Token);

            if (cancel)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
            }
            else
            {
                Assert.Equal(SandboxErrorIds.SandboxReadyTimeout, (await Assert.ThrowsAsync<SandboxException>(() => wait)).ErrorId);
            }
            Assert.NotNull(created);
            Assert.Equal(SandboxState.Gone, (await manager.GetStatusAsync(created!)).State);
            await foreach (var left in manager.ListAsync("process"))
            {
                Assert.Fail($"{left.Name} was left behind");
            }
        }
    }

    [Fact]
    public async Task CreateAsync_LimitsItCannotHonour_AreRejectedBeforeAnythingStarts()
    {
        var provider = _state.NewProvider();
        foreach (var (spec, option) in new (SandboxSpec, string)[]
                 {
                     (new SandboxSpec { Cpus = 1 }, "--cpus"),
                     (new SandboxSpec { MemoryBytes = 1 << 30 }, "--memory"),
                     (new SandboxSpec { PidsLimit = 10 }, "--pids-limit"),
                     (new SandboxSpec { NetworkMode = "none" }, "--network"),
                     (new SandboxSpec { ReadOnlyRootFilesystem = true }, "--read-only"),
                     (new SandboxSpec { User = "nobody" }, "--user"),
                     (new SandboxSpec { Image = "busybox" }, "--image"),
                 })
        {
            var ex = await Assert.ThrowsAsync<SandboxException>(() => provider.CreateAsync(spec));
            Assert.Equal(SandboxErrorIds.ProviderOptionNotSupported, ex.ErrorId);
            Assert.Contains(option, ex.Message);
        }
        var typo = new SandboxSpec();
        typo.ProviderOptions["serverpth"] = "x";
        Assert.Equal(SandboxErrorIds.InvalidProviderOption, (await Assert.ThrowsAsync<SandboxException>(() => provider.CreateAsync(typo))).ErrorId);
        Assert.False(Directory.Exists(Path.Combine(_state.Path, "process")) && Directory.EnumerateFiles(Path.Combine(_state.Path, "process"), "*.json").Any());
    }
}
