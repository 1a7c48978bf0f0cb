using System.Diagnostics;
using SandboxPS.Core;

namespace SandboxPS.Docker.Tests;

/// <summary>The real <c>sandboxps</c> command line as other processes: attach by name, and a killed creator.</summary>
public sealed class CliProcessTests(DockerFixture fixture) : IClassFixture<DockerFixture>
{
    private static string CliDll()
    {
        var baseDir = AppContext.BaseDirectory;
        var configuration = new DirectoryInfo(baseDir.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // bin/<Configuration>/net10.0
        for (var dir = new DirectoryInfo(baseDir); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SandboxPS.sln")))
            {
                var dll = Path.Combine(dir.FullName, "src", "SandboxPS.Cli", "bin", configuration, "net8.0", "sandboxps.dll");
                Assert.True(File.Exists(dll), $"the CLI is not built: {dll}");
                return dll;
            }
        }
        throw new InvalidOperationException("repository root not found above " + baseDir);
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(CliDll());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info)!;
    }

    private static async Task<(int Code, string Out, string Err)> RunCliAsync(CancellationToken ct, params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact(Timeout = 300_000)]
    public async Task Cli_NewThenExecFromAnotherProcess_RecoversTheTokenFromTheContainer()
    {
        using var cts = TestHelpers.Guard();
        var name = "sbx-cli-" + Guid.NewGuid().ToString("N")[..10];
        var created = await RunCliAsync(cts.Token, "new", "--provider", "docker", "--image", DockerFixture.Busybox, "--name", name,
            "--label", $"{DockerFixture.TestLabel}={fixture.RunId}", "--ttl", "10m", "--env", "WHO=cli");
        Assert.True(created.Code == 0, created.Err);

        var exec = await RunCliAsync(cts.Token, "exec", name, "--", "echo", "$WHO attached to $(hostname | cut -c1-3)");
        var listed = await RunCliAsync(cts.Token, "ls", "--provider", "docker", "--label", $"{DockerFixture.TestLabel}={fixture.RunId}", "--json");

        Assert.True(exec.Code == 0, exec.Err);
        Assert.StartsWith("cli attached to", exec.Out);
        Assert.Contains($"\"name\":\"{name}\"", listed.Out);
        var sandbox = await fixture.Provider.GetAsync(name, cts.Token);
        Assert.NotNull(sandbox);
        Assert.Equal(created.Out.Trim(), sandbox!.Id);
        var removed = await RunCliAsync(cts.Token, "rm", name);
        Assert.True(removed.Code == 0, removed.Err);
        Assert.Null(await fixture.Provider.GetAsync(name, cts.Token));
    }

    [Fact(Timeout = 300_000)]
    public async Task KillNine_Creator_ContainerStopsAtItsTtlAndIsReaped()
    {
        using var cts = TestHelpers.Guard();
        var name = "sbx-orphan-" + Guid.NewGuid().ToString("N")[..10];
        // The creator runs a long command in its sandbox and would remove it at the end; it never gets there.
        using var creator = Start("run", "--provider", "docker", "--image", DockerFixture.Busybox, "--name", name, "--ttl", "8s",
            "--label", $"{DockerFixture.TestLabel}={fixture.RunId}", "--", "sleep", "600");
        Sandbox? sandbox = null;
        try
        {
            while (sandbox is null || (await fixture.Provider.GetStatusAsync(sandbox.Id, cts.Token)).State != SandboxState.Running)
            {
                if (creator.HasExited)
                {
                    Assert.Fail($"the creator exited early ({creator.ExitCode}): {await creator.StandardError.ReadToEndAsync(cts.Token)}");
                }
                await Task.Delay(50, cts.Token);
                sandbox ??= await fixture.Provider.GetAsync(name, cts.Token);
            }
        }
        finally
        {
            creator.Kill(); // SIGKILL: no cleanup runs in the creator
            await creator.WaitForExitAsync(cts.Token);
        }

        SandboxStatus status;
        while ((status = await fixture.Provider.GetStatusAsync(sandbox.Id, cts.Token)).State == SandboxState.Running)
        {
            await Task.Delay(200, cts.Token);
        }
        Assert.Equal(SandboxState.Stopped, status.State);
        Assert.Equal(0, status.ExitCode);
        var listed = await fixture.Provider.GetAsync(sandbox.Id, cts.Token);
        Assert.Equal(SandboxState.Stopped, listed!.State);
        Assert.True(listed.ExpiresAt <= DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));

        // The scoped manager reaps only this run's containers (others test on the same engine).
        var reaped = await fixture.Manager.RemoveExpiredAsync(cts.Token);
        Assert.Contains(reaped, s => s.Id == sandbox.Id);
        Assert.Equal(SandboxState.Gone, (await fixture.Provider.GetStatusAsync(sandbox.Id, cts.Token)).State);
    }
}
