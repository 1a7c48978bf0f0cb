namespace SandboxPS.Cli.Tests;

/// <summary><c>sandboxps run</c> and the error contract, end to end through the built CLI.</summary>
public sealed class CliRunTests : IAsyncLifetime
{
    private readonly CliHarness _cli = new();

    public Task InitializeAsync() => _cli.InitializeAsync();
    public Task DisposeAsync() => _cli.DisposeAsync();

    [Fact(Timeout = 120_000)]
    public async Task Run_EchoHello_PrintsItAndLeavesNothing()
    {
        var result = await _cli.RunAsync("run", "--", "echo", "hello");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello\n", CliHarness.Lf(result.Stdout));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_cli.StateDir, "process"), "*.json"));
        Assert.Empty(_cli.Survivors());
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_CommandExitCode_PassesThrough_WordsFormOneShellLine()
    {
        var result = await _cli.RunAsync("run", "--env", "WHO=world", "--", "echo", "hi $WHO;", "(exit", "7)");
        Assert.Equal(7, result.ExitCode);
        Assert.Equal("hi world\n", CliHarness.Lf(result.Stdout));
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_Stdin_FeedsTheCommand_AndLeavesNothing()
    {
        var result = await _cli.RunWithInputAsync("b\na\nb\n"u8.ToArray(), "run", "-i", "--", "sort", "-u");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("a\nb\n", CliHarness.Lf(result.Stdout));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_cli.StateDir, "process"), "*.json"));
        Assert.Empty(_cli.Survivors());
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_Timeout_Exits124()
    {
        var result = await _cli.RunAsync("run", "--timeout", "1", "--", "echo started; sleep 30");
        Assert.Equal(124, result.ExitCode);
        Assert.Contains("started", result.Stdout);
        Assert.Contains("timed out", result.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task Run_Json_PrintsOneResultObject()
    {
        var result = await _cli.RunAsync("run", "--json", "--", "echo", "hi");
        Assert.Equal(0, result.ExitCode);
        var json = result.Json;
        Assert.Equal("Command", json.GetProperty("action").GetString());
        Assert.Equal(0, json.GetProperty("exitCode").GetInt32());
        Assert.Equal("hi", json.GetProperty("output").GetString()!.Trim());
        Assert.Equal("default", json.GetProperty("sessionId").GetString());
        Assert.False(json.GetProperty("timedOut").GetBoolean());
        Assert.True(json.TryGetProperty("durationMs", out _));
        Assert.Equal(16, json.GetProperty("sandboxId").GetString()!.Length);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("UnknownProvider", "new", "--provider", "nope")]
    [InlineData("InvalidDuration", "new", "--ttl", "soon")]
    [InlineData("InvalidDuration", "run", "--idle-timeout", "-3", "--", "true")]
    [InlineData("ProviderOptionNotSupported", "new", "--memory", "512m")]
    [InlineData("ProviderOptionNotSupported", "run", "--cpus", "1", "--", "true")]
    [InlineData("InvalidLabel", "new", "--label", "sandboxps.id=forged")]
    [InlineData("InvalidLabel", "new", "--label", "novalue")]
    [InlineData("InvalidEnvironmentVariable", "new", "--env", "1X=y")]
    [InlineData("InvalidSandboxName", "new", "--name", "bad name")]
    [InlineData("InvalidProviderOption", "new", "--provider-option", "colour=red")]
    [InlineData("SandboxNotFound", "exec", "no-such-sandbox", "--", "true")]
    [InlineData("SandboxNotFound", "session", "ls", "no-such-sandbox")]
    [InlineData("InvalidCommandLine", "exec")]
    [InlineData("InvalidCommandLine", "frobnicate")]
    [InlineData("InvalidCommandLine", "rm")]
    [InlineData("InvalidCommandLine", "cp", "./a", "./b")]
    [InlineData("InvalidCommandLine", "session", "new", "x", "--kind", "perl")]
    public async Task Errors_Exit125_WithErrorIdOnStderr(string errorId, params string[] args)
    {
        var result = await _cli.RunAsync(args);
        Assert.True(result.ExitCode == 125, result.ToString());
        Assert.StartsWith($"error: {errorId}: ", result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.DoesNotContain("   at ", result.Stderr);   // never a stack trace
    }

    [Fact(Timeout = 120_000)]
    public async Task Help_OnEveryCommand_ShowsAnExample()
    {
        var root = await _cli.RunAsync("--help");   // once through the built CLI
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("Examples:", root.Stdout);
        // every command through the same entry point, in process (help needs no sandbox)
        var manager = new SandboxPS.Core.SandboxManager([new SandboxPS.Core.Providers.Process.ProcessSandboxProvider(_cli.StateDir)]);
        foreach (var command in new[] { new[] { "new", "--help" }, ["ls", "--help"], ["exec", "--help"], ["session", "--help"],
                                        ["session", "new", "--help"], ["session", "ls", "--help"], ["session", "rm", "--help"], ["cp", "--help"],
                                        ["edit", "--help"], ["rm", "--help"], ["run", "--help"], ["logs", "--help"], ["exec", "-h", "x"] })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var rc = await CliApp.RunAsync(command, manager, stdout, stderr);
            var text = stdout.ToString();
            Assert.True(rc == 0, string.Join(' ', command) + "\n" + text + stderr);
            Assert.Contains("Examples:", text);
            Assert.Contains("sandboxps ", text[text.IndexOf("Examples:", StringComparison.Ordinal)..]);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Ls_WithNothing_PrintsHeaderOnly_AndJsonNothing()
    {
        var text = await _cli.RunAsync("ls");
        Assert.Equal(0, text.ExitCode);
        Assert.StartsWith("ID", text.Stdout);
        Assert.StartsWith("warning: provider docker skipped: DockerEngineUnavailable: ", text.Stderr);
        var json = await _cli.RunAsync("ls", "--json");
        Assert.Equal(0, json.ExitCode);
        Assert.Equal("", json.Stdout);
    }
}
