using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class ShellSessionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private async Task<string> NewSessionAsync(string? cwd = null, Dictionary<string, string>? env = null)
    {
        var info = await Server.CreateSessionAsync(new CreateSessionRequest { Cwd = cwd, Env = env });
        Assert.Equal(SessionKinds.Shell, info.Kind);
        Assert.True(info.Alive);
        return info.Id;
    }

    [Fact(Timeout = 30000)]
    public async Task DefaultSession_CreatedOnFirstUse()
    {
        var result = await Server.RunAsync("echo hello");
        Assert.Equal("hello\n", result.Output);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("default", result.SessionId);
        var info = await Server.GetAsync("/v1/sessions/default", ProtocolJsonContext.Default.SessionInfo);
        Assert.Equal("default", info.Id);
    }

    [Fact(Timeout = 30000)]
    public async Task State_PersistsAcrossRuns_CwdVariablesFunctionsAliases()
    {
        var id = await NewSessionAsync();
        var sub = Directory.CreateDirectory(Path.Combine(Server.WorkDir, "state-" + id)).FullName;
        var r1 = await Server.RunAsync($"cd {sub} && export GREETING=hi && plain=local && greet() {{ echo \"$GREETING $1\"; }}; alias ll='echo aliased'", id);
        Assert.Equal(0, r1.ExitCode);
        Assert.Equal(sub, r1.Cwd);
        var r2 = await Server.RunAsync("pwd; echo $GREETING $plain; greet world; sh -c 'echo child:$GREETING'", id);
        Assert.Equal($"{sub}\nhi local\nhi world\nchild:hi\n", r2.Output);
        Assert.Equal(sub, r2.Cwd);
        var r3 = await Server.RunAsync("shopt -s expand_aliases 2>/dev/null; ll", id);
        Assert.Equal("aliased\n", r3.Output);
        var info = await Server.GetAsync($"/v1/sessions/{id}", ProtocolJsonContext.Default.SessionInfo);
        Assert.Equal(sub, info.Cwd);
    }

    [Fact(Timeout = 30000)]
    public async Task ExitCode_OutputWithoutNewline_StderrMerged()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync("echo out; echo err >&2; printf tail; (exit 7)", id);
        Assert.Equal(7, r.ExitCode);
        Assert.Equal("out\nerr\ntail", r.Output);
        Assert.False(r.TimedOut);
        Assert.False(r.Truncated);
    }

    [Fact(Timeout = 30000)]
    public async Task QuotesAndMultilineCommands_ArePassedVerbatim()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync("x='it'\"'\"'s'; echo \"$x\" \\\n'$HOME'\ncat <<'EOF'\nline $1 `x` \\n\nEOF", id);
        Assert.Equal("it's $HOME\nline $1 `x` \\n\n", r.Output);
        var syntax = await Server.RunAsync("if then fi", id);
        Assert.NotEqual(0, syntax.ExitCode);
        var after = await Server.RunAsync("echo alive", id);
        Assert.Equal("alive\n", after.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task LongCommand_100KB_Works()
    {
        var id = await NewSessionAsync();
        var payload = new string('z', 100_000);
        var r = await Server.RunAsync($"v='{payload}'; echo ${{#v}}", id);
        Assert.Equal("100000\n", r.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task PromptsSetByCommands_NeverLeakIntoLaterOutput()
    {
        // venv's activate, rc files and users set PS1/PROMPT_COMMAND; what the shell prints after a
        // command's marker would otherwise land in whichever call comes next.
        var id = await NewSessionAsync();
        var set = await Server.RunAsync("PS1='PROMPT> '; PS2='MORE> '; PROMPT_COMMAND='echo from-prompt-command'", id);
        Assert.Equal("", set.Output);
        for (int i = 0; i < 20; i++)
        {
            var r = await Server.RunAsync($"echo {i}; if true\nthen echo two; fi", id);
            Assert.Equal($"{i}\ntwo\n", r.Output);
        }
    }

    [Fact(Timeout = 60000)]
    public async Task Venv_ActivationPersists()
    {
        if (!File.Exists("/usr/bin/python3") || Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import venv, ensurepip\"") { RedirectStandardError = true })!.WaitForExit(10000) is false)
        {
            Assert.Fail("this test expects python3 with venv on the host (/usr/bin/python3)");
        }
        var id = await NewSessionAsync();
        var venv = Path.Combine(Server.WorkDir, "venv-" + id);
        var create = await Server.RunAsync($"/usr/bin/python3 -m venv --without-pip {venv} && . {venv}/bin/activate", id, timeout: 50);
        Assert.True(create.ExitCode == 0, create.Output);
        var r = await Server.RunAsync("echo $VIRTUAL_ENV; command -v python", id);
        Assert.Equal($"{venv}\n{venv}/bin/python\n", r.Output);
        var d = await Server.RunAsync("deactivate; echo \"[$VIRTUAL_ENV]\"", id);
        Assert.Equal("[]\n", d.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Timeout_InterruptsProcessGroup_SessionStaysUsable()
    {
        var id = await NewSessionAsync();
        await Server.RunAsync("export KEEP=kept", id);
        var clock = Stopwatch.StartNew();
        var tag = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = await Server.RunAsync($"echo started; sleep 3{tag} | cat; echo never", id, timeout: 1);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "timeout took far too long (hang guard)");
        Assert.True(r.TimedOut);
        Assert.Equal(124, r.ExitCode);
        Assert.StartsWith("started\n", r.Output);
        Assert.DoesNotContain("never", r.Output);
        // Usable again, state kept, and the killed pipeline is gone.
        var after = await Server.RunAsync($"echo $KEEP; pgrep -f 'sleep 3{tag}$' | wc -l", id);
        Assert.Equal("kept\n0\n", after.Output);
        Assert.False(after.TimedOut);
    }

    [Fact(Timeout = 30000)]
    public async Task Timeout_CommandIgnoringSigint_IsKilledAfterGrace()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync("sh -c 'trap \"\" INT; sleep 30'", id, timeout: 0.5);
        Assert.True(r.TimedOut);
        var after = await Server.RunAsync("echo ok", id);
        Assert.Equal("ok\n", after.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Timeout_BuiltinLoop_IsInterrupted()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync("while :; do :; done", id, timeout: 0.5);
        Assert.True(r.TimedOut);
        var after = await Server.RunAsync("echo ok", id);
        Assert.Equal("ok\n", after.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Interrupt_RunningCommand_ReturnsInterrupted()
    {
        var id = await NewSessionAsync();
        var run = Server.RunAsync("echo begin; sleep 30", id);
        await Server.WaitBusyAsync(id);
        using (var response = await Server.Http.PostAsync($"/v1/sessions/{id}/interrupt", null))
        {
            await ServerProcess.Expect(response, HttpStatusCode.NoContent);
        }
        var r = await run;
        Assert.True(r.Interrupted);
        Assert.False(r.TimedOut);
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("begin\n", r.Output);
        Assert.Equal("ok\n", (await Server.RunAsync("echo ok", id)).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task InterruptOrInput_IdleSession_409SessionIdle()
    {
        var id = await NewSessionAsync();
        using var i = await Server.Http.PostAsync($"/v1/sessions/{id}/interrupt", null);
        await ServerProcess.ProblemAsync(i, HttpStatusCode.Conflict, ErrorIds.SessionIdle);
        using var input = await Server.Http.PostAsJsonAsync($"/v1/sessions/{id}/input", new InputRequest { Data = "x\n" }, ProtocolJsonContext.Default.InputRequest);
        await ServerProcess.ProblemAsync(input, HttpStatusCode.Conflict, ErrorIds.SessionIdle);
    }

    [Fact(Timeout = 30000)]
    public async Task Input_ReachesRunningCommand_AndEofEndsIt()
    {
        var id = await NewSessionAsync();
        var run = Server.RunAsync("read x; echo got:$x", id);
        await Server.WaitBusyAsync(id);
        using (var response = await Server.Http.PostAsJsonAsync($"/v1/sessions/{id}/input", new InputRequest { Data = "hello world\n" }, ProtocolJsonContext.Default.InputRequest))
        {
            await ServerProcess.Expect(response, HttpStatusCode.NoContent);
        }
        Assert.Equal("got:hello world\n", (await run).Output);

        var cat = Server.RunAsync("cat; echo done", id);
        await Server.WaitBusyAsync(id);
        using (var response = await Server.Http.PostAsJsonAsync($"/v1/sessions/{id}/input", new InputRequest { Data = "line1\n", Eof = true }, ProtocolJsonContext.Default.InputRequest))
        {
            await ServerProcess.Expect(response, HttpStatusCode.NoContent);
        }
        Assert.Equal("line1\ndone\n", (await cat).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task BackgroundJob_DoesNotBlockTheRun()
    {
        var id = await NewSessionAsync();
        var clock = Stopwatch.StartNew();
        var r = await Server.RunAsync("sleep 100 & echo started", id, timeout: 20);
        Assert.False(r.TimedOut);
        Assert.Contains("started\n", r.Output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the background job blocked the run");
        var r2 = await Server.RunAsync("nohup sleep 100 >/dev/null 2>&1 & disown; echo next", id, timeout: 20);
        Assert.Contains("next\n", r2.Output);
        var jobs = await Server.RunAsync("jobs | wc -l", id);
        Assert.Equal(0, jobs.ExitCode);
    }

    [Fact(Timeout = 30000)]
    public async Task SecondRunOnBusySession_409SessionBusy()
    {
        var id = await NewSessionAsync();
        var first = Server.RunAsync("sleep 4; echo first", id); // long enough to still run under heavy load
        await Server.WaitBusyAsync(id);
        var problem = await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"command":"echo second"}""", HttpStatusCode.Conflict, ErrorIds.SessionBusy);
        Assert.Contains(id, problem.Detail);
        Assert.Equal("first\n", (await first).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task DifferentSessions_RunInParallel()
    {
        var a = await NewSessionAsync();
        var b = await NewSessionAsync();
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Server.RunAsync("sleep 1; echo a", a), Server.RunAsync("sleep 1; echo b", b));
        var elapsed = clock.Elapsed;
        Assert.Equal("a\n", results[0].Output);
        Assert.Equal("b\n", results[1].Output);
        // Hang/serialization guard: serialized runs would take 2 s.
        Assert.True(elapsed < TimeSpan.FromSeconds(1.8), $"two 1 s commands in two sessions took {elapsed.TotalSeconds:F2} s");
    }

    [Fact(Timeout = 30000)]
    public async Task BinaryOutput_And1MBLine_DoNotBreakTheSession()
    {
        var id = await NewSessionAsync();
        var bin = await Server.RunAsync("head -c 200000 /dev/urandom; echo", id);
        Assert.Equal(0, bin.ExitCode);
        Assert.True(bin.Output.Length > 100_000);
        var line = await Server.RunAsync("head -c 1048576 /dev/zero | tr '\\0' 'a'; echo", id, maxOutput: 2 * 1024 * 1024);
        Assert.Equal(1048576 + 1, line.Output.Length);
        Assert.False(line.Truncated);
        Assert.Equal("ok\n", (await Server.RunAsync("echo ok", id)).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task OutputOverCap_KeepsHeadAndTail_FlagsTruncated()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync("seq 1 100000", id, maxOutput: 1000);
        Assert.True(r.Truncated);
        Assert.StartsWith("1\n2\n3\n", r.Output);
        Assert.EndsWith("99999\n100000\n", r.Output);
        Assert.Contains("bytes truncated ...]", r.Output);
        Assert.True(r.Output.Length < 1200);
    }

    [Fact(Timeout = 30000)]
    public async Task TokenIsNotVisibleToSessions()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync($"env; cat /proc/{Server.Pid}/environ | tr '\\0' '\\n'", id);
        Assert.DoesNotContain(Server.Token, r.Output);
        Assert.DoesNotContain("SANDBOXPS_TOKEN=", r.Output.Split('\n').Where(l => !l.StartsWith("SANDBOXPS_TOKEN=xxx", StringComparison.Ordinal)));
    }

    [Fact(Timeout = 30000)]
    public async Task SessionCwdAndEnv_FromCreateRequest()
    {
        var dir = Directory.CreateDirectory(Path.Combine(Server.WorkDir, "cwd-" + Guid.NewGuid().ToString("n")[..6])).FullName;
        var id = await NewSessionAsync(dir, new Dictionary<string, string> { ["MY_VAR"] = "my value" });
        var r = await Server.RunAsync("pwd; echo $MY_VAR", id);
        Assert.Equal($"{dir}\nmy value\n", r.Output);
    }

    [Fact(Timeout = 30000)]
    public async Task CreateSession_BadInput_ClearErrors()
    {
        await Server.PostProblemAsync("/v1/sessions", """{"kind":"fish"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/sessions", """{"id":"bad id!"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/sessions", """{"cwd":"/no/such/dir"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidPath);
        var id = "dup-" + Guid.NewGuid().ToString("n")[..6];
        await Server.CreateSessionAsync(new CreateSessionRequest { Id = id });
        await Server.PostProblemAsync("/v1/sessions", $$"""{"id":"{{id}}"}""", HttpStatusCode.Conflict, ErrorIds.SessionExists);
    }

    [Fact(Timeout = 30000)]
    public async Task UnknownSession_404_DeleteEndsIt()
    {
        await Server.PostProblemAsync("/v1/sessions/nope/run", """{"command":"true"}""", HttpStatusCode.NotFound, ErrorIds.SessionNotFound);
        using (var g = await Server.Http.GetAsync("/v1/sessions/nope"))
        {
            await ServerProcess.ProblemAsync(g, HttpStatusCode.NotFound, ErrorIds.SessionNotFound);
        }
        var id = await NewSessionAsync();
        var pid = (await Server.RunAsync("sleep 300 & echo $$", id)).Output.Split('\n').First(l => int.TryParse(l, out _));
        var list = await Server.GetAsync("/v1/sessions", ProtocolJsonContext.Default.SessionList);
        Assert.Contains(list.Sessions, s => s.Id == id);
        using (var d = await Server.Http.DeleteAsync($"/v1/sessions/{id}"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        using (var d2 = await Server.Http.DeleteAsync($"/v1/sessions/{id}"))
        {
            await ServerProcess.ProblemAsync(d2, HttpStatusCode.NotFound, ErrorIds.SessionNotFound);
        }
        // The shell and its background job are gone.
        for (int i = 0; i < 50 && Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(50);
        }
        Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "), "the session's shell survived DELETE");
    }

    [Fact(Timeout = 30000)]
    public async Task ShellExit_MarksSessionExited()
    {
        var id = await NewSessionAsync();
        var r = await Server.RunAsync("echo bye; exit 3", id);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("bye", r.Output);
        await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"command":"true"}""", HttpStatusCode.Conflict, ErrorIds.SessionExited);
        var info = await Server.GetAsync($"/v1/sessions/{id}", ProtocolJsonContext.Default.SessionInfo);
        Assert.False(info.Alive);
    }

    [Fact(Timeout = 30000)]
    public async Task Stream_EmitsOutputInOrder_ThenExit()
    {
        var id = await NewSessionAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/sessions/{id}/run?stream=true")
        {
            Content = JsonContent.Create(new RunRequest { Command = "for i in 1 2 3; do echo line$i; sleep 0.2; done; exit_code=5; (exit $exit_code)" }, ProtocolJsonContext.Default.RunRequest),
        };
        using var response = await Server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ProtocolConstants.NdjsonMediaType, response.Content.Headers.ContentType?.MediaType);
        var events = new List<StreamEvent>();
        var firstAt = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            var e = JsonSerializer.Deserialize(line, ProtocolJsonContext.Default.StreamEvent)!;
            if (events.Count == 0) firstAt = clock.Elapsed;
            events.Add(e);
        }
        Assert.Equal(StreamEventTypes.Exit, events[^1].Type);
        Assert.All(events[..^1], e => Assert.Equal(StreamEventTypes.Output, e.Type));
        Assert.Equal("line1\nline2\nline3\n", string.Concat(events[..^1].Select(e => e.Data)));
        Assert.True(events.Count >= 3, "output came in one piece: not streamed");
        Assert.Equal(5, events[^1].Run!.ExitCode);
        Assert.Equal("line1\nline2\nline3\n", events[^1].Run!.Output);
        Assert.True(firstAt < clock.Elapsed - TimeSpan.FromMilliseconds(200), "the first event arrived only at the end");
    }

    [Fact(Timeout = 30000)]
    public async Task Stream_ClientDisconnects_CommandFinishes_SessionUsable()
    {
        var id = await NewSessionAsync();
        var file = Path.Combine(Server.WorkDir, "disconnect-" + id);
        using (var cts = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/sessions/{id}/run?stream=true")
            {
                Content = JsonContent.Create(new RunRequest { Command = $"for i in $(seq 1 20); do seq 1 5000; sleep 0.05; done; echo finished > {file}" }, ProtocolJsonContext.Default.RunRequest),
            };
            using var response = await Server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            var buffer = new byte[100];
            await stream.ReadExactlyAsync(buffer, cts.Token);
            cts.Cancel();
        }
        // The command runs to its end, then the session is free again.
        RunResult? r = null;
        for (int i = 0; i < 100; i++)
        {
            using var response = await Server.Http.PostAsJsonAsync($"/v1/sessions/{id}/run", new RunRequest { Command = "echo usable" }, ProtocolJsonContext.Default.RunRequest);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                r = await response.Content.ReadFromJsonAsync(ProtocolJsonContext.Default.RunResult);
                break;
            }
            await ServerProcess.ProblemAsync(response, HttpStatusCode.Conflict, ErrorIds.SessionBusy);
            await Task.Delay(100);
        }
        Assert.NotNull(r);
        Assert.Equal("usable\n", r!.Output);
        Assert.Equal("finished\n", File.ReadAllText(file));
    }

    [Fact(Timeout = 30000)]
    public async Task Run_InvalidParameters_400()
    {
        var id = await NewSessionAsync();
        await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"command":"true","timeoutSeconds":-1}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"command":"a\u0000b"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync($"/v1/sessions/{id}/run", """{"timeoutSeconds":1}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
    }

}

public sealed class CapacityFixture : ServerFixture
{
    protected override string[]? Args => ["--listen", "127.0.0.1:0", "--max-sessions", "2"];
}

public sealed class CapacityTests(CapacityFixture fixture) : IClassFixture<CapacityFixture>
{
    [Fact(Timeout = 30000)]
    public async Task MaxSessions_429CapacityReached_FreedByDelete()
    {
        var server = fixture.Server;
        var a = await server.CreateSessionAsync(new CreateSessionRequest());
        await server.CreateSessionAsync(new CreateSessionRequest());
        await server.PostProblemAsync("/v1/sessions", "{}", (HttpStatusCode)429, ErrorIds.CapacityReached);
        // The lazily made default session counts too.
        await server.PostProblemAsync("/v1/sessions/default/run", """{"command":"true"}""", (HttpStatusCode)429, ErrorIds.CapacityReached);
        var info = await server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal(2, info.SessionsInUse);
        Assert.Equal(2, info.MaxSessions);
        using (var d = await server.Http.DeleteAsync($"/v1/sessions/{a.Id}"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        await server.CreateSessionAsync(new CreateSessionRequest());
    }
}

public sealed class DashFixture : ServerFixture
{
    protected override string[]? Args => ["--listen", "127.0.0.1:0", "--shell", "/bin/dash"];
}

/// <summary>A shell without `read -d` (dash): commands travel with an exact byte count instead.</summary>
public sealed class DashSessionTests(DashFixture fixture) : IClassFixture<DashFixture>
{
    [Fact(Timeout = 30000)]
    public async Task Dash_StateQuotingLongCommandsTimeout()
    {
        var server = fixture.Server;
        var info = await server.GetAsync("/v1/info", SandboxPS.Protocol.ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal("/bin/dash", info.Shell);
        var r1 = await server.RunAsync("cd /usr && X='a b' && f() { echo \"f:$1\"; }");
        Assert.Equal("/usr", r1.Cwd);
        var r2 = await server.RunAsync("echo \"$X\"; f 'it'\"'\"'s'; printf 'no newline\\n\\n\\n'");
        Assert.Equal("a b\nf:it's\nno newline\n\n\n", r2.Output);
        var payload = new string('q', 20_000);
        Assert.Equal("20000\n", (await server.RunAsync($"v='{payload}'; echo ${{#v}}")).Output);
        var t = await server.RunAsync("sleep 20", timeout: 0.5);
        Assert.True(t.TimedOut);
        Assert.Equal("a b\n", (await server.RunAsync("echo \"$X\"")).Output);
    }
}

public sealed class TerminalRepairTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 30000)]
    public async Task TerminalModesChangedByACommand_AreRepairedBeforeTheNext()
    {
        var server = fixture.Server;
        var r = await server.RunAsync("stty echo -icanon -isig; echo changed");
        Assert.Equal("changed\n", r.Output);
        // Without the repair the next command line would be echoed into the output.
        var after = await server.RunAsync("echo clean");
        Assert.Equal("clean\n", after.Output);
        var t = await server.RunAsync("sleep 20", timeout: 0.5);
        Assert.True(t.TimedOut);
        Assert.Equal("ok\n", (await server.RunAsync("echo ok")).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task StreamedRun_WithRequestId_RetryGetsTheFinalResultAsJson()
    {
        var server = fixture.Server;
        var id = Guid.NewGuid().ToString();
        var file = Path.Combine(server.WorkDir, "stream-replay-" + id[..8]);
        await server.CreateSessionAsync(new SandboxPS.Protocol.CreateSessionRequest { Id = "sr-" + id[..8] });
        HttpRequestMessage Make(string query)
        {
            var r = new HttpRequestMessage(HttpMethod.Post, $"/v1/sessions/sr-{id[..8]}/run{query}")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new SandboxPS.Protocol.RunRequest { Command = $"echo once >> {file}; echo streamed" }, SandboxPS.Protocol.ProtocolJsonContext.Default.RunRequest),
            };
            r.Headers.Add(SandboxPS.Protocol.ProtocolConstants.RequestIdHeader, id);
            return r;
        }
        using (var first = await server.Http.SendAsync(Make("?stream=true")))
        {
            Assert.Contains("\"exit\"", await first.Content.ReadAsStringAsync());
        }
        using var again = await server.Http.SendAsync(Make("?stream=true"));
        var replay = System.Text.Json.JsonSerializer.Deserialize(await again.Content.ReadAsStringAsync(), SandboxPS.Protocol.ProtocolJsonContext.Default.RunResult)!;
        Assert.Equal("streamed\n", replay.Output);
        Assert.Equal("once\n", File.ReadAllText(file));
    }
}

public sealed class SessionDeleteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 30000)]
    public async Task DeleteWhileRunning_RunEnds_OtherSessionsUnaffected()
    {
        var server = fixture.Server;
        var other = await server.CreateSessionAsync(new SandboxPS.Protocol.CreateSessionRequest());
        for (int round = 0; round < 5; round++)
        {
            var s = await server.CreateSessionAsync(new SandboxPS.Protocol.CreateSessionRequest());
            var run = server.Http.PostAsync($"/v1/sessions/{s.Id}/run", System.Net.Http.Json.JsonContent.Create(
                new SandboxPS.Protocol.RunRequest { Command = "echo begin; sleep 30" }, SandboxPS.Protocol.ProtocolJsonContext.Default.RunRequest));
            await Task.Delay(100 * round);
            using (var d = await server.Http.DeleteAsync($"/v1/sessions/{s.Id}"))
            {
                await ServerProcess.Expect(d, System.Net.HttpStatusCode.NoContent);
            }
            using var response = await run.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.True(response.StatusCode is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.NotFound, response.StatusCode.ToString());
        }
        Assert.Equal("still\n", (await server.RunAsync("echo still", other.Id)).Output);
    }
}
