using System.Diagnostics;
using System.Net;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class TwoSessionsFixture : ServerFixture
{
    protected override string[]? Args => ["--listen", "127.0.0.1:0", "--max-sessions", "2"];
}

/// <summary>Sessions whose process ended hold no capacity, no processes and no file descriptors.</summary>
public sealed class ExitedSessionCapacityTests(TwoSessionsFixture fixture) : IClassFixture<TwoSessionsFixture>
{
    [Fact(Timeout = 30000)]
    public async Task ExitedOrKilledSessions_GiveTheirCapacityBack_StayListedUntilDeleted()
    {
        var server = fixture.Server;
        var a = await server.CreateSessionAsync(new CreateSessionRequest { Id = "cap-a" });
        var b = await server.CreateSessionAsync(new CreateSessionRequest { Id = "cap-b" });
        await server.PostProblemAsync("/v1/sessions", "{}", (HttpStatusCode)429, ErrorIds.CapacityReached);

        // `exit` in a: its slot is free at once, and it stays listed as exited.
        Assert.Equal(0, (await server.RunAsync("exit", a.Id)).ExitCode);
        var c = await server.CreateSessionAsync(new CreateSessionRequest { Id = "cap-c" });
        var info = await server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal(2, info.SessionsInUse);
        var listed = (await server.GetAsync("/v1/sessions", ProtocolJsonContext.Default.SessionList)).Sessions.Single(s => s.Id == a.Id);
        Assert.False(listed.Alive);
        Assert.Equal(0, listed.ExitCode);
        await server.PostProblemAsync($"/v1/sessions/{a.Id}/run", """{"command":"true"}""", HttpStatusCode.Conflict, ErrorIds.SessionExited);

        // b's shell killed from outside: the same.
        using (var kill = Process.Start("kill", ["-9", b.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit(10000);
        }
        for (int i = 0; i < 200 && (await server.GetAsync($"/v1/sessions/{b.Id}", ProtocolJsonContext.Default.SessionInfo)).Alive; i++)
        {
            await Task.Delay(25);
        }
        var killed = await server.GetAsync($"/v1/sessions/{b.Id}", ProtocolJsonContext.Default.SessionInfo);
        Assert.False(killed.Alive);
        Assert.Equal(137, killed.ExitCode);
        // An exited session's id can be taken again.
        var b2 = await server.CreateSessionAsync(new CreateSessionRequest { Id = b.Id });
        Assert.True(b2.Alive);
        Assert.Equal("again\n", (await server.RunAsync("echo again", b.Id)).Output);
        await server.PostProblemAsync("/v1/sessions", "{}", (HttpStatusCode)429, ErrorIds.CapacityReached);

        using (var d = await server.Http.DeleteAsync($"/v1/sessions/{a.Id}"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        using (var d = await server.Http.DeleteAsync($"/v1/sessions/{c.Id}"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        using (var d = await server.Http.DeleteAsync($"/v1/sessions/{b.Id}"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        Assert.Empty((await server.GetAsync("/v1/sessions", ProtocolJsonContext.Default.SessionList)).Sessions);
    }
}

/// <summary>Creating and ending sessions leaks no file descriptors, threads' terminals or zombies.</summary>
public sealed class SessionLeakTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private int FdCount() => Directory.GetFiles($"/proc/{Server.Pid}/fd").Length;

    /// <summary>Waits (bounded) for the server's fd count to come back to at most <paramref name="limit"/>.</summary>
    private async Task<int> SettledFdCountAsync(int limit)
    {
        int n = FdCount();
        for (int i = 0; i < 200 && n > limit; i++)
        {
            await Task.Delay(50);
            n = FdCount();
        }
        return n;
    }

    private List<int> Zombies() => Directory.EnumerateDirectories("/proc")
        .Select(d => Path.GetFileName(d))
        .Where(n => n.All(char.IsDigit))
        .Select(n =>
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{n}/stat");
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return f[0] == "Z" && f[1] == Server.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) ? int.Parse(n) : -1;
            }
            catch (IOException)
            {
                return -1;
            }
        })
        .Where(p => p > 0).ToList();

    [Fact(Timeout = 60000)]
    public async Task FiftySessions_CreatedAndDeleted_LeaveNoFdsNoZombies()
    {
        await Server.RunAsync("true"); // the default session and the server's own lazily opened fds
        var before = FdCount();
        for (int i = 0; i < 50; i++)
        {
            var s = await Server.CreateSessionAsync(new CreateSessionRequest { Kind = i % 10 == 9 && File.Exists("/usr/bin/python3") ? SessionKinds.Python : null });
            if (i % 2 == 0)
            {
                await Server.RunAsync(s.Kind == SessionKinds.Python ? "1" : "sleep 300 & echo x", s.Id);
            }
            using var d = await Server.Http.DeleteAsync($"/v1/sessions/{s.Id}");
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        var after = await SettledFdCountAsync(before + 2);
        Assert.True(after <= before + 2, $"the server had {before} fds before and {after} after 50 sessions");
        for (int i = 0; i < 100 && Zombies().Count > 0; i++)
        {
            await Task.Delay(50);
        }
        Assert.Empty(Zombies());
    }

    [Fact(Timeout = 60000)]
    public async Task ExitedSessions_ReleaseTheirFds_WithoutDelete()
    {
        await Server.RunAsync("true");
        var before = FdCount();
        for (int i = 0; i < 10; i++)
        {
            var s = await Server.CreateSessionAsync(new CreateSessionRequest());
            await Server.RunAsync("sleep 300 & exit 4", s.Id);
        }
        var after = await SettledFdCountAsync(before + 2);
        Assert.True(after <= before + 2, $"the server had {before} fds before and {after} after 10 exited sessions");
    }

    [Fact(Timeout = 60000)]
    public async Task Delete_WhenAProcessThatLeftTheSessionHoldsItsTerminal_StillClosesIt()
    {
        await Server.RunAsync("true");
        var before = FdCount();
        var s = await Server.CreateSessionAsync(new CreateSessionRequest());
        // setsid: out of the session's reach, but stdout/stderr still on its terminal.
        var pid = int.Parse((await Server.RunAsync("setsid sleep 300 & echo $!", s.Id)).Output.Trim());
        try
        {
            using (var d = await Server.Http.DeleteAsync($"/v1/sessions/{s.Id}"))
            {
                await ServerProcess.Expect(d, HttpStatusCode.NoContent);
            }
            var after = await SettledFdCountAsync(before + 1);
            Assert.True(after <= before + 1, $"the server had {before} fds before and {after} after deleting the session");
        }
        finally
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
            }
        }
    }
}
