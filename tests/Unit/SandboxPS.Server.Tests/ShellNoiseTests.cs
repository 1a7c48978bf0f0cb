using System.Net;
using System.Net.Http.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>
/// A call's output holds what its command printed and nothing the shell printed around it (job
/// notices, `[1] PID`, "exit", a fallen-out loop): the same checks for bash, dash and busybox ash.
/// </summary>
internal static class ShellNoiseChecks
{
    private static async Task<string> NewSessionAsync(ServerProcess server) =>
        (await server.CreateSessionAsync(new CreateSessionRequest())).Id;

    public static async Task BackgroundJobs_NeverPolluteAnyOutput(ServerProcess server)
    {
        var id = await NewSessionAsync(server);
        Assert.Equal("started\n", (await server.RunAsync("sleep 0.2 & echo started", id)).Output);
        // The job ends while the next command runs...
        Assert.Equal("next\n", (await server.RunAsync("sleep 0.6; echo next", id)).Output);
        // ... or while the session is idle.
        Assert.Equal("", (await server.RunAsync("sleep 0.1 &", id)).Output);
        await Task.Delay(400);
        Assert.Equal("after\n", (await server.RunAsync("echo after", id)).Output);
        Assert.Equal("again\n", (await server.RunAsync("echo again", id)).Output);
        // Killed by a signal, too.
        Assert.Equal("k\n", (await server.RunAsync("sleep 100 & kill $!; echo k", id)).Output);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal($"{i}\n", (await server.RunAsync($"sleep 0.05 & echo {i}", id)).Output);
        }
        Assert.Equal("end\n", (await server.RunAsync("sleep 0.3; echo end", id)).Output);
        Assert.Equal("end2\n", (await server.RunAsync("echo end2", id)).Output);
    }

    public static async Task Exit_OutputIsWhatTheCommandPrinted(ServerProcess server)
    {
        var id = await NewSessionAsync(server);
        var r = await server.RunAsync("echo bye; exit 3", id);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("bye\n", r.Output);
        var info = await server.GetAsync($"/v1/sessions/{id}", ProtocolJsonContext.Default.SessionInfo);
        Assert.False(info.Alive);
        Assert.Equal(3, info.ExitCode);
    }

    public static async Task Interrupt_NextCallIsClean(ServerProcess server)
    {
        var id = await NewSessionAsync(server);
        var run = server.RunAsync("echo begin; sleep 30", id);
        await server.WaitBusyAsync(id);
        using (var response = await server.Http.PostAsync($"/v1/sessions/{id}/interrupt", null))
        {
            await ServerProcess.Expect(response, HttpStatusCode.NoContent);
        }
        var r = await run;
        Assert.True(r.Interrupted);
        Assert.StartsWith("begin\n", r.Output);
        Assert.Equal("ok\n", (await server.RunAsync("echo ok", id)).Output);
        var t = await server.RunAsync("while :; do :; done", id, timeout: 0.5);
        Assert.True(t.TimedOut);
        Assert.Equal("ok2\n", (await server.RunAsync("echo ok2", id)).Output);
    }

    public static async Task ErrorsAndLoopKeywords_LeaveTheSessionUsable(ServerProcess server)
    {
        var id = await NewSessionAsync(server);
        Assert.NotEqual(0, (await server.RunAsync("if then", id)).ExitCode);
        Assert.Equal("a\n", (await server.RunAsync("echo a", id)).Output);
        Assert.NotEqual(0, (await server.RunAsync("x=${unset_var_xyz?is unset}", id)).ExitCode);
        Assert.Equal("b\n", (await server.RunAsync("echo b", id)).Output);
        await server.RunAsync("break", id);
        Assert.Equal("c\n", (await server.RunAsync("echo c", id)).Output);
        await server.RunAsync("continue", id);
        Assert.Equal("d\n", (await server.RunAsync("echo d", id)).Output);
        Assert.Equal(5, (await server.RunAsync("return 5", id)).ExitCode);
        Assert.Equal("e\n", (await server.RunAsync("echo e", id)).Output);
    }

    public static async Task Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs(ServerProcess server)
    {
        var id = await NewSessionAsync(server);
        var job = int.Parse((await server.RunAsync("sleep 300 & echo $!", id)).Output.Trim());
        try
        {
            var r = await server.RunAsync("sh -c 'echo $$; trap \"\" INT; exec sleep 31'", id, timeout: 0.5);
            Assert.True(r.TimedOut);
            var fg = int.Parse(r.Output.Split('\n')[0].Trim());
            Assert.Equal("ok\n", (await server.RunAsync("echo ok", id)).Output);
            Assert.True(await GoneAsync(fg), "the command that ignored SIGINT survived the timeout");
            Assert.True(Directory.Exists($"/proc/{job}") && !File.ReadAllText($"/proc/{job}/stat").Contains(") Z "),
                "the background job of an earlier call was killed by a later call's timeout");
        }
        finally
        {
            using var d = await server.Http.DeleteAsync($"/v1/sessions/{id}");
        }
        Assert.True(await GoneAsync(job), "DELETE left the session's background job running");
    }

    public static async Task CommandPipe_IsNotVisibleToCommandsOrJobs(ServerProcess server)
    {
        var id = await NewSessionAsync(server);
        Assert.Equal("closed\n", (await server.RunAsync("sh -c 'test -e /proc/self/fd/3 && echo open || echo closed'", id)).Output);
        var job = int.Parse((await server.RunAsync("sleep 300 & echo $!", id)).Output.Trim());
        // Before its exec the forked shell still holds its own (close-on-exec) copies: wait for the exec.
        for (int i = 0; i < 200 && !File.ReadAllText($"/proc/{job}/cmdline").StartsWith("sleep", StringComparison.Ordinal); i++)
        {
            await Task.Delay(10);
        }
        await Task.Delay(50);
        // (fd 3 itself may briefly be a file the program opens at start, e.g. the locale archive.)
        var pipes = Directory.GetFiles($"/proc/{job}/fd")
            .Select(f => { try { return new FileInfo(f).LinkTarget ?? ""; } catch (IOException) { return ""; } })
            .Where(t => t.StartsWith("pipe:", StringComparison.Ordinal)).ToList();
        Assert.True(pipes.Count == 0, "a background job holds a pipe of the session: " + string.Join(", ", pipes));
        // A command that takes fd 3 for itself does not break the session.
        Assert.Equal("mine\n", (await server.RunAsync("exec 3>/dev/null; echo mine", id)).Output);
        Assert.Equal("still\n", (await server.RunAsync("echo still", id)).Output);
        using var d = await server.Http.DeleteAsync($"/v1/sessions/{id}");
    }

    public static async Task<bool> GoneAsync(int pid)
    {
        for (int i = 0; i < 200; i++)
        {
            try
            {
                if (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return true;
            }
            await Task.Delay(50);
        }
        return false;
    }

}

public sealed class BashNoiseTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 30000)]
    public async Task Bash_BackgroundJobs_NeverPolluteAnyOutput()
    {
        var info = await fixture.Server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.EndsWith("bash", info.Shell);
        await ShellNoiseChecks.BackgroundJobs_NeverPolluteAnyOutput(fixture.Server);
    }

    [Fact(Timeout = 30000)]
    public Task Bash_Exit_OutputIsWhatTheCommandPrinted() => ShellNoiseChecks.Exit_OutputIsWhatTheCommandPrinted(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Bash_CommandPipe_IsNotVisibleToCommandsOrJobs() => ShellNoiseChecks.CommandPipe_IsNotVisibleToCommandsOrJobs(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Bash_Interrupt_NextCallIsClean() => ShellNoiseChecks.Interrupt_NextCallIsClean(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Bash_ErrorsAndLoopKeywords_LeaveTheSessionUsable() => ShellNoiseChecks.ErrorsAndLoopKeywords_LeaveTheSessionUsable(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Bash_Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs() => ShellNoiseChecks.Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs(fixture.Server);

    [Fact(Timeout = 30000)]
    public async Task Bash_JobControlTurnedOnByACommand_IsOffAgainForTheNext()
    {
        var server = fixture.Server;
        var id = (await server.CreateSessionAsync(new CreateSessionRequest())).Id;
        Assert.Equal("m\n", (await server.RunAsync("set -m; sleep 0.1 & echo m", id)).Output);
        Assert.Equal("m2\n", (await server.RunAsync("sleep 0.4; echo m2", id)).Output);
        Assert.Equal("m3\n", (await server.RunAsync("echo m3", id)).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Bash_LeftoverInputOnARawTerminal_DoesNotHoldUpTheRun()
    {
        var server = fixture.Server;
        var id = (await server.CreateSessionAsync(new CreateSessionRequest())).Id;
        var run = server.RunAsync("stty -icanon; sleep 0.5; echo done", id);
        await server.WaitBusyAsync(id);
        using (var input = await server.Http.PostAsJsonAsync($"/v1/sessions/{id}/input", new InputRequest { Data = "abc" }, ProtocolJsonContext.Default.InputRequest))
        {
            await ServerProcess.Expect(input, HttpStatusCode.NoContent);
        }
        Assert.Equal("done\n", (await run).Output);
        Assert.Equal("next\n", (await server.RunAsync("echo next", id)).Output);
    }

    [Fact(Timeout = 30000)]
    public async Task Bash_LeftoverInput_IsNotRunAsACommand()
    {
        var server = fixture.Server;
        var id = (await server.CreateSessionAsync(new CreateSessionRequest())).Id;
        var marker = Path.Combine(server.WorkDir, "leftover-" + id);
        var run = server.RunAsync("sleep 3; echo done", id); // long enough to still run under heavy load
        await server.WaitBusyAsync(id);
        // The command never reads this: it must not reach the shell as a command afterwards.
        using (var input = await server.Http.PostAsJsonAsync($"/v1/sessions/{id}/input", new InputRequest { Data = $"touch {marker}\n" }, ProtocolJsonContext.Default.InputRequest))
        {
            await ServerProcess.Expect(input, HttpStatusCode.NoContent);
        }
        Assert.Equal("done\n", (await run).Output);
        Assert.Equal("next\n", (await server.RunAsync("echo next", id)).Output);
        Assert.False(File.Exists(marker), "input a command left unread was run by the shell");
    }
}

public sealed class DashNoiseTests(DashFixture fixture) : IClassFixture<DashFixture>
{
    [Fact(Timeout = 30000)]
    public Task Dash_BackgroundJobs_NeverPolluteAnyOutput() => ShellNoiseChecks.BackgroundJobs_NeverPolluteAnyOutput(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Dash_Exit_OutputIsWhatTheCommandPrinted() => ShellNoiseChecks.Exit_OutputIsWhatTheCommandPrinted(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Dash_CommandPipe_IsNotVisibleToCommandsOrJobs() => ShellNoiseChecks.CommandPipe_IsNotVisibleToCommandsOrJobs(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Dash_Interrupt_NextCallIsClean() => ShellNoiseChecks.Interrupt_NextCallIsClean(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Dash_ErrorsAndLoopKeywords_LeaveTheSessionUsable() => ShellNoiseChecks.ErrorsAndLoopKeywords_LeaveTheSessionUsable(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Dash_Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs() => ShellNoiseChecks.Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs(fixture.Server);
}

/// <summary>busybox ash, as /bin/sh of the busybox image: the server runs it through a symlink named sh.</summary>
public sealed class BusyboxFixture : ServerFixture
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sbx-busybox-").FullName;

    public BusyboxFixture()
    {
        Assert.True(File.Exists("/bin/busybox"), "these tests expect busybox on the host (/bin/busybox, package busybox-static)");
        File.CreateSymbolicLink(Path.Combine(_dir, "sh"), "/bin/busybox");
    }

    protected override string[]? Args => ["--listen", "127.0.0.1:0", "--shell", Path.Combine(_dir, "sh")];
}

public sealed class BusyboxNoiseTests(BusyboxFixture fixture) : IClassFixture<BusyboxFixture>
{
    [Fact(Timeout = 30000)]
    public async Task Busybox_BackgroundJobEndingWhileIdle_DoesNotEndTheSession()
    {
        // busybox 1.35 ash exits when SIGCHLD interrupts the read of its prompt.
        var server = fixture.Server;
        var id = (await server.CreateSessionAsync(new CreateSessionRequest())).Id;
        Assert.Equal("", (await server.RunAsync("sleep 0.1 &", id)).Output);
        await Task.Delay(500);
        Assert.Equal("alive\n", (await server.RunAsync("echo alive", id)).Output);
        var info = await server.GetAsync($"/v1/sessions/{id}", ProtocolJsonContext.Default.SessionInfo);
        Assert.True(info.Alive);
    }

    [Fact(Timeout = 30000)]
    public Task Busybox_BackgroundJobs_NeverPolluteAnyOutput() => ShellNoiseChecks.BackgroundJobs_NeverPolluteAnyOutput(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Busybox_Exit_OutputIsWhatTheCommandPrinted() => ShellNoiseChecks.Exit_OutputIsWhatTheCommandPrinted(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Busybox_CommandPipe_IsNotVisibleToCommandsOrJobs() => ShellNoiseChecks.CommandPipe_IsNotVisibleToCommandsOrJobs(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Busybox_Interrupt_NextCallIsClean() => ShellNoiseChecks.Interrupt_NextCallIsClean(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Busybox_ErrorsAndLoopKeywords_LeaveTheSessionUsable() => ShellNoiseChecks.ErrorsAndLoopKeywords_LeaveTheSessionUsable(fixture.Server);

    [Fact(Timeout = 30000)]
    public Task Busybox_Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs() => ShellNoiseChecks.Timeout_KillsWhatTheCommandStarted_SparesEarlierJobs(fixture.Server);

    [Fact(Timeout = 30000)]
    public async Task Busybox_StateAndQuotingAndLongCommands()
    {
        var server = fixture.Server;
        var id = (await server.CreateSessionAsync(new CreateSessionRequest())).Id;
        var r1 = await server.RunAsync("cd /usr && X='a b' && f() { echo \"f:$1\"; }", id);
        Assert.Equal("/usr", r1.Cwd);
        Assert.Equal("a b\nf:it's\n", (await server.RunAsync("echo \"$X\"; f 'it'\"'\"'s'", id)).Output);
        var payload = new string('q', 100_000);
        Assert.Equal("100000\n", (await server.RunAsync($"v='{payload}'; echo ${{#v}}", id)).Output);
    }
}
