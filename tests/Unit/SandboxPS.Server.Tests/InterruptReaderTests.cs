using System.Net;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>Interrupting a command that is reading the session's terminal (cat, head, read), in every shell.</summary>
internal static class InterruptReaderChecks
{
    public static TheoryData<string> Commands => new() { "cat", "head -n 1", "read -r line; echo \"got $line\"", "sleep 100 & cat" };

    public static async Task Interrupt_Ends130_AndTheSessionLives(ServerProcess server, string command)
    {
        var session = await server.CreateSessionAsync(new CreateSessionRequest());
        await server.RunAsync("cd /tmp && export KEPT=yes", session.Id);
        for (int round = 0; round < 3; round++)
        {
            var run = server.RunAsync(command, session.Id);
            await server.WaitBusyAsync(session.Id);
            using (var response = await server.Http.PostAsync($"/v1/sessions/{session.Id}/interrupt", null))
            {
                await ServerProcess.Expect(response, HttpStatusCode.NoContent);
            }
            var r = await run;
            Assert.True(r.Interrupted);
            Assert.Equal(130, r.ExitCode);
            Assert.DoesNotContain("__sbx", r.Output);
            var info = await server.GetAsync($"/v1/sessions/{session.Id}", ProtocolJsonContext.Default.SessionInfo);
            Assert.True(info.Alive, "the shell was killed instead of coming back from Ctrl-C");
            Assert.Equal("yes /tmp\n", (await server.RunAsync("echo $KEPT $PWD", session.Id)).Output);
        }
    }
}

public sealed class BashInterruptReaderTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory(Timeout = 60000)]
    [MemberData(nameof(InterruptReaderChecks.Commands), MemberType = typeof(InterruptReaderChecks))]
    public Task Bash_InterruptReader_Ends130_SessionLives(string command) => InterruptReaderChecks.Interrupt_Ends130_AndTheSessionLives(fixture.Server, command);
}

public sealed class DashInterruptReaderTests(DashFixture fixture) : IClassFixture<DashFixture>
{
    [Theory(Timeout = 60000)]
    [MemberData(nameof(InterruptReaderChecks.Commands), MemberType = typeof(InterruptReaderChecks))]
    public Task Dash_InterruptReader_Ends130_SessionLives(string command) => InterruptReaderChecks.Interrupt_Ends130_AndTheSessionLives(fixture.Server, command);
}

public sealed class BusyboxInterruptReaderTests(BusyboxFixture fixture) : IClassFixture<BusyboxFixture>
{
    [Theory(Timeout = 60000)]
    [MemberData(nameof(InterruptReaderChecks.Commands), MemberType = typeof(InterruptReaderChecks))]
    public Task Busybox_InterruptReader_Ends130_SessionLives(string command) => InterruptReaderChecks.Interrupt_Ends130_AndTheSessionLives(fixture.Server, command);
}
