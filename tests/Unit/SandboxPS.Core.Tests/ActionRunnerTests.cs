using System.Collections.Concurrent;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

/// <summary>One process sandbox (real server binary) shared by the runner tests of a class; they run one at a time.</summary>
public sealed class RunnerSandbox : IAsyncLifetime
{
    private readonly TempStateDir _state = new();

    public SandboxManager Manager { get; private set; } = null!;
    public Sandbox Sandbox { get; private set; } = null!;
    public SandboxClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _state.InitializeAsync();
        Manager = _state.NewManager();
        var spec = new SandboxSpec { Name = "runner" };
        spec.Labels["org.sandboxps.test"] = "runner-tests";
        Sandbox = await Manager.CreateReadyAsync("process", spec, TimeSpan.FromSeconds(60), ct: Guard.Minutes(1));
        Client = await Manager.GetClientAsync(Sandbox, Guard.Minutes(1));
    }

    public Task DisposeAsync() => _state.DisposeAsync();
}

/// <summary>What the runner told its front end.</summary>
internal sealed class RecordingObserver : ISandboxActionObserver
{
    public ConcurrentQueue<(bool IsError, string Text)> Chunks { get; } = new();
    public ConcurrentQueue<SandboxActionNotice> Notices { get; } = new();
    public TaskCompletionSource FirstOutput { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void OnOutput(bool isError, string text)
    {
        Chunks.Enqueue((isError, text));
        FirstOutput.TrySetResult();
    }

    public void OnNotice(SandboxActionNotice notice) => Notices.Enqueue(notice);

    public string Text => string.Concat(Chunks.Select(c => c.Text)).ReplaceLineEndings("\n");
}

/// <summary>
/// The action runner (the one home of the rules Invoke-SandboxAction and <c>sandboxps exec</c> share) against a
/// real process sandbox: sessions, default-session replacement, the Python session, stdin, streaming,
/// interrupt-then-wait, exec and file actions.
/// </summary>
public sealed class ActionRunnerTests(RunnerSandbox fixture) : IClassFixture<RunnerSandbox>
{
    private readonly RecordingObserver _observer = new();

    private SandboxActionRunner Runner(SandboxActionNames? names = null) => new(fixture.Sandbox, fixture.Client, _observer, names);

    private static string Session() => "s-" + Guid.NewGuid().ToString("N")[..8];

    [Fact(Timeout = 60_000)]
    public async Task Run_DefaultSession_KeepsStateBetweenCalls_AndNamesTheResult()
    {
        var runner = Runner();
        await runner.RunAsync(new SessionAction { Code = "cd /tmp && export RUNNER_X=42" }, Guard.Minutes(1));
        var result = await runner.RunAsync(new SessionAction { Code = "echo $RUNNER_X; pwd" }, Guard.Minutes(1));
        Assert.Equal("42\n/tmp", result.Output.ReplaceLineEndings("\n").Trim());
        Assert.Equal(SandboxActions.Command, result.Action);
        Assert.Equal(fixture.Sandbox.Id, result.SandboxId);
        Assert.Equal(ProtocolConstants.DefaultSessionId, result.SessionId);
        Assert.Equal(0, result.ExitCode);
        await runner.RunAsync(new SessionAction { Code = "cd ~ 2>/dev/null || cd /" }, Guard.Minutes(1));
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_AfterExitInTheDefaultSession_ReplacesItOnce_WithANotice()
    {
        var runner = Runner();
        var exited = await runner.RunAsync(new SessionAction { Code = "exit 5" }, Guard.Minutes(1));
        Assert.Equal(5, exited.ExitCode);
        var again = await runner.RunAsync(new SessionAction { Code = "echo again" }, Guard.Minutes(1));
        Assert.Equal("again", again.Output.Trim());
        var notice = Assert.Single(_observer.Notices);
        Assert.Equal(SandboxActionNoticeKind.DefaultSessionReplaced, notice.Kind);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_AfterExitInANamedSession_IsAnError_NotAReplacement()
    {
        var session = Session();
        await fixture.Client.CreateSessionAsync(new CreateSessionRequest { Id = session }, Guard.Minutes(1));
        var runner = Runner();
        await runner.RunAsync(new SessionAction { Code = "exit 3", SessionId = session }, Guard.Minutes(1));
        var ex = await Assert.ThrowsAsync<SandboxException>(() => runner.RunAsync(new SessionAction { Code = "true", SessionId = session }, Guard.Minutes(1)));
        Assert.Equal(ErrorIds.SessionExited, ex.ErrorId);
        Assert.Empty(_observer.Notices);
    }

    [Fact(Timeout = 60_000)]
    public async Task Python_StartsTheDefaultPythonSession_KeepsState_AndRestartsItAfterExit()
    {
        var runner = Runner();
        try
        {
            await fixture.Client.DeleteSessionAsync(SandboxActionRunner.DefaultPythonSession, Guard.Minutes(1));
        }
        catch (SandboxException ex) when (ex.ErrorId == ErrorIds.SessionNotFound)
        {
        }
        var first = await runner.RunAsync(new SessionAction { Code = "x = 21 * 2\nprint(x)", Python = true }, Guard.Minutes(1));
        Assert.Equal("42", first.Output.Trim());
        Assert.Equal(SandboxActions.Python, first.Action);
        Assert.Equal(SandboxActionRunner.DefaultPythonSession, first.SessionId);
        Assert.Equal(SandboxActionNoticeKind.PythonSessionStarted, Assert.Single(_observer.Notices).Kind);

        Assert.Equal("43", (await runner.RunAsync(new SessionAction { Code = "print(x + 1)", Python = true }, Guard.Minutes(1))).Output.Trim());
        Assert.Single(_observer.Notices);

        await runner.RunAsync(new SessionAction { Code = "exit()", Python = true }, Guard.Minutes(1));
        var restarted = await runner.RunAsync(new SessionAction { Code = "print('back')", Python = true }, Guard.Minutes(1));
        Assert.Equal("back", restarted.Output.Trim());
        Assert.Equal(2, _observer.Notices.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_InANamedPythonSession_IsLabelledPython()
    {
        var session = Session();
        await fixture.Client.CreateSessionAsync(new CreateSessionRequest { Id = session, Kind = SessionKinds.Python }, Guard.Minutes(1));
        var result = await Runner().RunAsync(new SessionAction { Code = "print(6 * 7)", SessionId = session }, Guard.Minutes(1));
        Assert.Equal("42", result.Output.Trim());
        Assert.Equal(SandboxActions.Python, result.Action);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_Stream_DeliversOutputWhileTheCommandRuns_AndTheResultHasItAll()
    {
        var runner = Runner();
        var run = runner.RunAsync(new SessionAction { Code = "echo first; sleep 1; echo second", SessionId = null, Stream = true }, Guard.Minutes(1));
        await _observer.FirstOutput.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("first", _observer.Text);
        var result = await run;
        Assert.Equal("first\nsecond\n", _observer.Text);
        Assert.Equal("first\nsecond", result.Output.ReplaceLineEndings("\n").Trim());
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_Stdin_ArrivesByteForByte_InTheSession_AndIsNotLeftBehind()
    {
        var bytes = new byte[] { 0x03, 0x04, (byte)'a', (byte)'\n', 0xff, (byte)'z' };
        var runner = Runner();
        var result = await runner.RunAsync(new SessionAction { Code = "od -An -tx1 | tr -s ' \\n' ' '", Stdin = new MemoryStream(bytes) }, Guard.Minutes(1));
        Assert.Equal("03 04 61 0a ff 7a", result.Output.Trim());
        var left = await runner.RunAsync(new SessionAction { Code = "ls -A | grep -c sandboxps-stdin || true" }, Guard.Minutes(1));
        Assert.Equal("0", left.Output.Trim());
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_StdinIntoAPythonSession_IsRefused_InTheFrontEndsNames()
    {
        var session = Session();
        await fixture.Client.CreateSessionAsync(new CreateSessionRequest { Id = session, Kind = SessionKinds.Python }, Guard.Minutes(1));
        var names = new SandboxActionNames { Stdin = "--stdin", Session = "--session" };
        var ex = await Assert.ThrowsAsync<SandboxException>(() => Runner(names).RunAsync(
            new SessionAction { Code = "print(1)", SessionId = session, Stdin = new MemoryStream([1]) }, Guard.Minutes(1)));
        Assert.Equal(SandboxErrorIds.InvalidCommandLine, ex.ErrorId);
        Assert.Equal("--stdin", ex.Target);
        Assert.Contains("--session", ex.RecommendedAction);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_Cancelled_InterruptsTheCommand_AndReturnsOnlyOnceTheSessionIsIdle()
    {
        var session = Session();
        await fixture.Client.CreateSessionAsync(new CreateSessionRequest { Id = session }, Guard.Minutes(1));
        using var cancel = new CancellationTokenSource();
        var run = Runner().RunAsync(new SessionAction { Code = "echo started; sleep 30; echo never", SessionId = session, Stream = true }, cancel.Token);
        await _observer.FirstOutput.Task.WaitAsync(TimeSpan.FromSeconds(30));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.False((await fixture.Client.GetSessionAsync(session, Guard.Minutes(1))).Busy);
        var next = await Runner().RunAsync(new SessionAction { Code = "echo next", SessionId = session }, Guard.Minutes(1));
        Assert.Equal("next", next.Output.Trim());
        Assert.DoesNotContain("never", _observer.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Exec_SeparatesTheStreams_AndStreamsThemWhenAsked()
    {
        var request = new ExecRequest { Argv = ["sh", "-c", "echo out; echo err >&2; exit 4"] };
        var plain = await Runner().ExecAsync(request, stream: false, Guard.Minutes(1));
        Assert.Equal((4, "out\n", "err\n"), (plain.ExitCode, plain.Stdout, plain.Stderr));
        Assert.Equal(SandboxActions.Exec, plain.Action);
        Assert.Empty(_observer.Chunks);

        var streamed = await Runner().ExecAsync(request, stream: true, Guard.Minutes(1));
        Assert.Equal(4, streamed.ExitCode);
        Assert.Contains((false, "out\n"), _observer.Chunks);
        Assert.Contains((true, "err\n"), _observer.Chunks);
    }

    [Fact(Timeout = 60_000)]
    public async Task Files_WriteReadAndEdit()
    {
        var path = "/tmp/runner-" + Guid.NewGuid().ToString("N")[..8] + ".txt";
        var runner = Runner();
        var written = await runner.WriteFileAsync(path, "a = 1\nb = 2\nc = 3\n", timeout: TimeSpan.FromSeconds(30), Guard.Minutes(1));
        Assert.Equal(SandboxActions.WriteFile, written.Action);
        Assert.Equal("b = 2\n", (await runner.ReadFileAsync(path, 2, 2, timeout: null, Guard.Minutes(1))).Output);
        var edit = await runner.EditAsync(path, "b = 2", "b = 20", timeout: null, Guard.Minutes(1));
        Assert.Contains("+b = 20", edit.Result.Output);
        Assert.Equal(edit.Response.Diff, edit.Result.Output);
        var none = await Assert.ThrowsAsync<SandboxException>(() => runner.EditAsync(path, "zzz", "y", timeout: null, Guard.Minutes(1)));
        Assert.Equal(ErrorIds.EditNoMatch, none.ErrorId);
        Assert.Equal("a = 1\nb = 20\nc = 3\n", (await runner.ReadFileAsync(path, null, null, timeout: null, Guard.Minutes(1))).Output);
        Assert.Equal(Encoding.UTF8.GetByteCount("a = 1\nb = 20\nc = 3\n"), (await fixture.Client.StatAsync(path, Guard.Minutes(1))).Size);
    }
}
