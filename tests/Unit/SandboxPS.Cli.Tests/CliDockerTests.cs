namespace SandboxPS.Cli.Tests;

/// <summary>The CLI with the real Docker engine: `run --provider docker` end to end (labelled, cleaned up by label).</summary>
public sealed class CliDockerTests : IAsyncLifetime
{
    private readonly CliHarness _cli = new() { DockerHost = "unix:///var/run/docker.sock" };
    private readonly string _testLabel = "org.sandboxps.test=cli-" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => _cli.InitializeAsync();

    public async Task DisposeAsync()
    {
        // Only what this test made: found by its own label.
        var mine = await _cli.RunAsync("ls", "--provider", "docker", "--label", _testLabel, "--json");
        foreach (var line in mine.JsonLines)
        {
            await _cli.RunAsync("rm", line.GetProperty("id").GetString()!);
        }
        await _cli.DisposeAsync();
    }

    [Fact(Timeout = 180_000)]
    public async Task RunWithDocker_ExitCodePassesThrough_AndNothingIsLeft()
    {
        var result = await _cli.RunAsync("run", "--provider", "docker", "--image", "sandboxps/busybox:1.35", "--label", _testLabel,
                                         "--memory", "256m", "--", "echo", "hi from $(uname -s);", "(exit 3)");
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("hi from Linux", result.Stdout);
        var left = await _cli.RunAsync("ls", "--provider", "docker", "--label", _testLabel, "--json");
        Assert.Equal(0, left.ExitCode);
        Assert.Equal("", left.Stdout);
    }
}
