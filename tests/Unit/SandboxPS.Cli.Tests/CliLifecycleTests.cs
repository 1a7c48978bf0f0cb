using System.Diagnostics;

namespace SandboxPS.Cli.Tests;

/// <summary>Sandboxes across CLI invocations: creation, removal, failure, expiry.</summary>
public sealed class CliLifecycleTests : IAsyncLifetime
{
    private readonly CliHarness _cli = new();

    public Task InitializeAsync() => _cli.InitializeAsync();
    public Task DisposeAsync() => _cli.DisposeAsync();

    [Fact(Timeout = 120_000)]
    public async Task New_OutlivesItsCli_AndRmIsIdempotent()
    {
        var created = await _cli.RunAsync("new", "--name", "keeper", "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        var json = created.Json;
        var id = json.GetProperty("id").GetString()!;
        Assert.Equal("keeper", json.GetProperty("name").GetString());
        Assert.Equal("ready", json.GetProperty("state").GetString());

        // The creating CLI has exited; another one drives the sandbox.
        var pid = _cli.ServerPid(id);
        Assert.True(Directory.Exists($"/proc/{pid}"));
        Assert.Equal("alive\n", CliHarness.Lf((await _cli.RunAsync("exec", "keeper", "--", "echo", "alive")).Stdout));

        var dup = await _cli.RunAsync("new", "--name", "keeper");
        Assert.Equal(125, dup.ExitCode);
        Assert.StartsWith("error: SandboxNameInUse: ", dup.Stderr);

        var rm = await _cli.RunAsync("rm", "keeper", "--json");
        Assert.Equal(0, rm.ExitCode);
        Assert.Equal(id, rm.Json.GetProperty("id").GetString());
        Assert.True(rm.Json.GetProperty("removed").GetBoolean());
        Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z"));

        var again = await _cli.RunAsync("rm", "keeper");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("keeper", again.Stderr);
        Assert.Equal(0, (await _cli.RunAsync("rm", id)).ExitCode);
        Assert.Equal("", (await _cli.RunAsync("ls", "--json")).Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Exit_EndsTheDefaultSession_TheNextExecGetsAFreshOne()
    {
        var id = await _cli.NewAsync("--name", "exiter");
        Assert.Equal(3, (await _cli.RunAsync("exec", id, "--", "exit", "3")).ExitCode);
        var after = await _cli.RunAsync("exec", id, "--", "echo", "fresh");
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("fresh\n", CliHarness.Lf(after.Stdout));
        Assert.Contains("started a new one", after.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task NoWait_ThenRmAll()
    {
        var a = await _cli.NewAsync("--no-wait", "--name", "all-a");
        var b = await _cli.NewAsync("--no-wait");
        Assert.Equal(16, a.Length);
        var rm = await _cli.RunAsync("rm", "--all", "--provider", "process", "--json");
        Assert.Equal(0, rm.ExitCode);
        var ids = rm.JsonLines.Select(j => j.GetProperty("id").GetString()).ToHashSet();
        Assert.Contains(a, ids);
        Assert.Contains(b, ids);
        Assert.Empty(_cli.Survivors());
    }

    [Fact(Timeout = 120_000)]
    public async Task KilledServer_ShowsFailed_WithItsLog_AndExecFails125()
    {
        var id = await _cli.NewAsync("--name", "victim");
        Process.GetProcessById(_cli.ServerPid(id)).Kill();
        string state = "";
        for (int i = 0; i < 100 && state != "failed"; i++)
        {
            await Task.Delay(50);
            state = Assert.Single((await _cli.RunAsync("ls", "--json")).JsonLines).GetProperty("state").GetString()!;
        }
        Assert.Equal("failed", state);
        var logs = await _cli.RunAsync("logs", "victim");
        Assert.Equal(0, logs.ExitCode);
        Assert.Contains("\"listening\"", logs.Stdout);

        var exec = await _cli.RunAsync("exec", "victim", "--", "true");
        Assert.Equal(125, exec.ExitCode);
        Assert.StartsWith("error: SandboxNotRunning: ", exec.Stderr);
        Assert.Contains("exit code 137", exec.Stderr);
        Assert.Contains("\"listening\"", exec.Stderr);   // its last output lines

        var expired = await _cli.RunAsync("rm", "--expired", "--provider", "process", "--json");
        Assert.Equal(id, Assert.Single(expired.JsonLines).GetProperty("id").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Ttl_StopsTheSandbox_AndRmExpiredCleansUp()
    {
        // --no-wait: on a loaded machine a 2 s TTL can run out while `new` still waits for readiness,
        // and readiness is not what this test is about.
        var id = await _cli.NewAsync("--ttl", "2s", "--no-wait", "--name", "shortlived");
        string state = "";
        for (int i = 0; i < 200 && state != "stopped"; i++)
        {
            await Task.Delay(100);
            state = Assert.Single((await _cli.RunAsync("ls", "--json")).JsonLines).GetProperty("state").GetString()!;
        }
        Assert.Equal("stopped", state);
        var rm = await _cli.RunAsync("rm", "--expired", "--provider", "process");
        Assert.Equal(0, rm.ExitCode);
        Assert.Equal(id + "\n", CliHarness.Lf(rm.Stdout));
        Assert.Equal("", (await _cli.RunAsync("ls", "--json")).Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task CtrlC_InterruptsTheCommand_Exits130_AndTheSessionStaysUsable()
    {
        var id = await _cli.NewAsync("--name", "interruptible");
        using var process = Process.Start(_cli.StartInfo("exec", id, "--", "echo ready; sleep 60"))!;
        process.StandardInput.Close();
        Assert.Equal("ready", (await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))?.TrimEnd('\r'));
        // A test run started in the background by a non-interactive shell passes SIGINT on as ignored;
        // then send SIGTERM, which the CLI handles the same way (interrupt the command, exit 130).
        var status = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var sigintIgnored = (Convert.ToUInt64(status["SigIgn:".Length..].Trim(), 16) & 0b10) != 0;
        using (var kill = Process.Start("kill", [sigintIgnored ? "-TERM" : "-INT", process.Id.ToString()]))
        {
            await kill!.WaitForExitAsync();
        }
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(130, process.ExitCode);
        var after = await _cli.RunAsync("exec", id, "--", "echo", "usable");
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("usable\n", CliHarness.Lf(after.Stdout));
    }
}
