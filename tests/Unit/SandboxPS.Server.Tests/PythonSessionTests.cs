using System.Net;
using System.Net.Http.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class PythonSessionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private async Task<string> NewPythonAsync()
    {
        var info = await Server.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python });
        Assert.Equal(SessionKinds.Python, info.Kind);
        return info.Id;
    }

    [Fact(Timeout = 30000)]
    public async Task CommandPipe_IsNotInheritedByChildProcesses()
    {
        var id = await NewPythonAsync();
        var r = await Server.RunAsync("import os\nos.system(\"sh -c 'test -e /proc/self/fd/3 && echo open || echo closed'\")", id);
        Assert.Equal("closed\n0\n", r.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task State_PersistsBetweenRuns_LastExpressionPrinted()
    {
        var id = await NewPythonAsync();
        var r1 = await Server.RunAsync("import os\nx = 41\ndef f(a):\n    return a * 2\nprint('defined')", id);
        Assert.Equal("defined\n", r1.Output);
        Assert.Equal(0, r1.ExitCode);
        var r2 = await Server.RunAsync("x += 1\nf(x)", id);
        Assert.Equal("84\n", r2.Output);
        var r3 = await Server.RunAsync("'text'", id);
        Assert.Equal("'text'\n", r3.Output);
        var r4 = await Server.RunAsync("None", id);
        Assert.Equal("", r4.Output);
        var r5 = await Server.RunAsync("os.chdir('/tmp'); print(os.getcwd())", id);
        Assert.Equal("/tmp\n", r5.Output);
        Assert.Equal("/tmp", r5.Cwd);
    }

    [Fact(Timeout = 30000)]
    public async Task Exception_TracebackAndExit1_StateKept()
    {
        var id = await NewPythonAsync();
        await Server.RunAsync("kept = 'yes'", id);
        var r = await Server.RunAsync("def boom():\n    raise ValueError('bad value')\nboom()", id);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Traceback", r.Output);
        Assert.Contains("ValueError: bad value", r.Output);
        Assert.DoesNotContain("_sbx_main", r.Output);
        var syntax = await Server.RunAsync("def (", id);
        Assert.Equal(1, syntax.ExitCode);
        Assert.Contains("SyntaxError", syntax.Output);
        Assert.Equal("'yes'\n", (await Server.RunAsync("kept", id)).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task StdoutAndStderr_Merged_SubprocessOutputToo()
    {
        var id = await NewPythonAsync();
        var r = await Server.RunAsync("import sys, subprocess\nprint('out')\nprint('err', file=sys.stderr)\nsubprocess.run(['echo', 'child'])\nNone", id);
        Assert.Equal("out\nerr\nchild\n", r.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Timeout_RaisesKeyboardInterrupt_SessionUsable()
    {
        var id = await NewPythonAsync();
        await Server.RunAsync("n = 5", id);
        var r = await Server.RunAsync("import time\nprint('start', flush=True)\ntime.sleep(30)", id, timeout: 1);
        Assert.True(r.TimedOut);
        Assert.Equal(124, r.ExitCode);
        Assert.Contains("start", r.Output);
        Assert.Contains("KeyboardInterrupt", r.Output);
        Assert.Equal("6\n", (await Server.RunAsync("n + 1", id)).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Timeout_CodeSwallowingInterrupts_KillsSession()
    {
        var id = await NewPythonAsync();
        var r = await Server.RunAsync("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(30)", id, timeout: 0.5);
        Assert.True(r.TimedOut);
        await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"command":"1"}""", HttpStatusCode.Conflict, ErrorIds.SessionExited);
    }

    [Fact(Timeout = 30000)]
    public async Task Input_ReachesInputCall()
    {
        var id = await NewPythonAsync();
        var run = Server.RunAsync("name = input()\nprint('hi ' + name)", id);
        for (int i = 0; i < 100 && !(await Server.GetAsync($"/v1/sessions/{id}", ProtocolJsonContext.Default.SessionInfo)).Busy; i++)
        {
            await Task.Delay(20);
        }
        using var response = await Server.Http.PostAsJsonAsync($"/v1/sessions/{id}/input", new InputRequest { Data = "bob\n" }, ProtocolJsonContext.Default.InputRequest);
        await ServerProcess.Expect(response, HttpStatusCode.NoContent);
        Assert.Equal("hi bob\n", (await run).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Exit_EndsTheSession()
    {
        var id = await NewPythonAsync();
        var r = await Server.RunAsync("import sys\nsys.exit(4)", id);
        Assert.Equal(4, r.ExitCode);
        await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"command":"1"}""", HttpStatusCode.Conflict, ErrorIds.SessionExited);
    }
}

public sealed class NoPythonFixture : ServerFixture
{
    protected override IDictionary<string, string?>? Env => new Dictionary<string, string?> { ["PATH"] = "/nonexistent-bin" };
}

public sealed class NoPythonTests(NoPythonFixture fixture) : IClassFixture<NoPythonFixture>
{
    [Fact(Timeout = 30000)]
    public async Task PythonSession_WithoutPython3_400PythonNotAvailable()
    {
        var problem = await fixture.Server.PostProblemAsync("/v1/sessions", """{"kind":"python"}""", HttpStatusCode.BadRequest, ErrorIds.PythonNotAvailable);
        Assert.Contains("python3", problem.Detail);
        var info = await fixture.Server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Null(info.Python);
        Assert.Equal(0, info.SessionsInUse);
        // Shell sessions still work (the shell is found by absolute path).
        var r = await fixture.Server.RunAsync("echo shell-ok");
        Assert.Equal("shell-ok\n", r.Output);
    }
}
