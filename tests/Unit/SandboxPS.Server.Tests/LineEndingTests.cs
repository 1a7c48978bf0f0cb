using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>Scripts written on Windows arrive with CRLF line ends; the shell must see plain lines.</summary>
public sealed class LineEndingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Fact(Timeout = 30000)]
    public async Task SessionCommand_WithCrlfLineEnds_RunsLineByLine_LoneCrIsKept()
    {
        var session = await Server.CreateSessionAsync(new CreateSessionRequest());
        var r = await Server.RunAsync("cd /tmp\r\nx=one\r\nif [ \"$x\" = one ]; then\r\n  echo \"$(pwd) $x\"\r\nfi\r\nprintf 'a\\rb\\n'", session.Id);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("/tmp one\na\rb\n", r.Output);
        Assert.Equal("/tmp", r.Cwd);
    }

    [Fact(Timeout = 30000)]
    public async Task ExecShell_WithCrlfLineEnds_RunsLineByLine()
    {
        var r = await Server.ExecAsync(new ExecRequest { Shell = "x=two\r\necho \"[$x]\"\r\n" });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("[two]\n", r.Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task PythonCode_WithCrlfLineEnds_Runs()
    {
        if (!File.Exists("/usr/bin/python3"))
        {
            Assert.Fail("this test expects python3 on the host (/usr/bin/python3)");
        }
        var session = await Server.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python });
        var r = await Server.RunAsync("y = 3\r\nif y:\r\n    print('py', y)\r\n", session.Id);
        Assert.Equal("py 3\n", r.Output);
    }
}
