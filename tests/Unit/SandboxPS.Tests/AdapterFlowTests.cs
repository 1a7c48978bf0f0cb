using System.Collections;
using System.Runtime.CompilerServices;
using SandboxPS.Core;
using SandboxPS.Core.Automation;
using SandboxPS.Core.Providers.Process;
using SandboxPS.Protocol;

namespace SandboxPS.Tests;

/// <summary>
/// The path a cmdlet takes, minus PowerShell: parameters through the adapter logic into the real core,
/// against real process sandboxes (real server binary, real HTTP on loopback) in a private state directory.
/// </summary>
public sealed class AdapterFlowTests : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"sandboxps-module-tests-{Guid.NewGuid():N}");
    private readonly List<Sandbox> _created = [];
    private SandboxManager _manager = null!;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_stateDirectory);
        _manager = new SandboxManager([new ProcessSandboxProvider(_stateDirectory)]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var sandbox in _created)
        {
            await _manager.RemoveAsync(sandbox, budget.Token);
        }
        Directory.Delete(_stateDirectory, recursive: true);
    }

    private async Task<Sandbox> NewAsync(string name, CancellationToken ct)
    {
        // New-Sandbox -Name $name -Label @{ suite = 'module' } -TimeToLive 10m -Wait
        var request = NewSandboxRequestBuilder.Build(new NewSandboxParameters
        {
            Provider = SandboxProviderKind.Process,
            Name = name,
            Label = new Hashtable { ["suite"] = "module", ["org.sandboxps.test"] = "module-tests" },
            TimeToLive = "10m",
        });
        var sandbox = await _manager.CreateAsync(request.Provider, request.Spec, ct);
        _created.Add(sandbox);
        return await _manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(60), ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task CreateResolveRunAndClassify_ThroughTheAdapterLogic()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(110));
        var ct = guard.Token;
        var name = $"mod-{Guid.NewGuid():N}"[..16];
        var sandbox = await NewAsync(name, ct);
        Assert.Equal(SandboxState.Ready, sandbox.State);
        Assert.Equal("module", sandbox.Labels["suite"]);
        Assert.NotNull(sandbox.ExpiresAt);

        // Get-Sandbox -Name 'mod-*' (wildcards) and Get-Sandbox -Id <prefix>
        var filter = new NameFilter(["mod-*", "missing-one"]);
        var listed = new List<Sandbox>();
        await foreach (var s in _manager.ListAsync(null, null, ct))
        {
            if (filter.IsMatch(s))
            {
                listed.Add(s);
            }
        }
        Assert.Contains(listed, s => s.Id == sandbox.Id);
        Assert.Equal(["missing-one"], filter.UnmatchedLiterals);
        Assert.Equal(name, SandboxIdMatcher.Pick(listed, sandbox.Id[..8]).Name);

        // Invoke-SandboxAction 'name' -Command ...: a name resolves like the cmdlet resolves it.
        var resolved = await SandboxRef.FromObject(name).ResolveAsync((key, c) => _manager.ResolveAsync(key, null, c), ct);
        Assert.Equal(sandbox.Id, resolved.Id);
        var client = await _manager.GetClientAsync(resolved, ct);
        var lines = new List<string>();
        var splitter = new StreamLineSplitter();
        var runner = new SandboxActionRunner(resolved, client, new LineObserver(splitter, lines));
        var ok = await runner.RunAsync(new SessionAction { Code = "echo hello" }, ct);
        Assert.Equal("hello", ok.Output.Trim());
        Assert.Null(ActionOutcome.FailureOf(ok));

        // A non-zero exit is data; -ErrorOnNonZeroExit turns it into SandboxActionFailed.
        var failed = await runner.RunAsync(new SessionAction { Code = "echo bad; (exit 3)" }, ct);
        Assert.Equal(3, failed.ExitCode);
        var failure = ActionOutcome.FailureOf(failed)!;
        Assert.Equal("SandboxActionFailed", failure.ErrorId);
        Assert.Contains("bad", failure.Message);

        // -Stream: chunks become whole lines as they arrive, and the result carries the exit code.
        var streamed = await runner.RunAsync(new SessionAction { Code = "for i in 1 2 3; do echo line$i; done", Stream = true }, ct);
        Assert.Equal(["line1", "line2", "line3"], lines);
        Assert.Equal(0, streamed.ExitCode);

        // Tab completion of names, bounded, from the same listing.
        var completions = CompletionSource.Complete(c => Names(c), "mod-", TimeSpan.FromSeconds(10));
        Assert.Contains(completions, c => c.CompletionText == name);

        // Remove-Sandbox, then again: idempotent.
        await _manager.RemoveAsync(resolved, ct);
        await _manager.RemoveAsync(resolved, ct);
        var ex = await Assert.ThrowsAsync<SandboxException>(() => SandboxRef.FromObject(name).ResolveAsync((key, c) => _manager.ResolveAsync(key, null, c), ct));
        Assert.Equal("SandboxNotFound", ex.ErrorId);
        Assert.Equal("ObjectNotFound", SandboxErrorTable.CategoryFor(ex.Kind, ex.ErrorId));
    }

    [Fact(Timeout = 120_000)]
    public async Task UnknownSession_IsClassifiedForPowerShell()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(110));
        var sandbox = await NewAsync($"mod-{Guid.NewGuid():N}"[..16], guard.Token);
        var client = await _manager.GetClientAsync(sandbox, guard.Token);
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.RunAsync("no-such-session", new RunRequest { Command = "true" }, guard.Token));
        Assert.Equal(ErrorIds.SessionNotFound, ex.ErrorId);
        Assert.Equal("ObjectNotFound", SandboxErrorTable.CategoryFor(ex.Kind, ex.ErrorId));
        Assert.Contains("Get-SandboxSession", SandboxErrorTable.RecommendedActionFor(ex));
    }

    private async IAsyncEnumerable<(string, string)> Names([EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var s in _manager.ListAsync(null, null, ct))
        {
            yield return (s.Name, s.Id);
        }
    }

    private sealed class LineObserver(StreamLineSplitter splitter, List<string> lines) : ISandboxActionObserver
    {
        public void OnOutput(bool isError, string text) => lines.AddRange(splitter.Push(text));

        public void OnNotice(SandboxActionNotice notice)
        {
        }
    }
}
