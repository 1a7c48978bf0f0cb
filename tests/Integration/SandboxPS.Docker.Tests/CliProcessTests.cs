using System.Diagnostics;
using SandboxPS.Core;
using SandboxPS.Core.Providers.Docker;

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

    private static Process Start(params string[] args) => StartAs(null, args);

    /// <summary>The CLI as this user, or as another host user (uid, gid, extra groups, environment) through setpriv.</summary>
    private static Process StartAs(HostUser? user, params string[] args)
    {
        var info = new ProcessStartInfo(user is null ? "dotnet" : "setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (user is not null)
        {
            foreach (var arg in new[] { $"--reuid={user.Uid}", $"--regid={user.Gid}", $"--groups={string.Join(',', user.Groups)}", "--", "dotnet" })
            {
                info.ArgumentList.Add(arg);
            }
            foreach (var (key, value) in user.Environment)
            {
                info.Environment[key] = value;
            }
            info.Environment.Remove("XDG_RUNTIME_DIR");
        }
        info.ArgumentList.Add(CliDll());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info)!;
    }

    private sealed record HostUser(int Uid, int Gid, int[] Groups, Dictionary<string, string> Environment);

    private static Task<(int Code, string Out, string Err)> RunCliAsync(CancellationToken ct, params string[] args) => RunCliAsAsync(null, ct, args);

    private static async Task<(int Code, string Out, string Err)> RunCliAsAsync(HostUser? user, CancellationToken ct, params string[] args)
    {
        using var process = StartAs(user, args);
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
    public async Task KillNine_OfNew_AtManyPoints_NothingRunsPastItsTtl_AndLsShowsTheTrueState()
    {
        using var cts = TestHelpers.Guard();
        var prefix = "sbx-kill-" + Guid.NewGuid().ToString("N")[..8] + "-";
        int[] delaysMs = [100, 250, 400, 550, 700, 900, 1200, 1600];
        var creators = delaysMs.Select((delay, i) => Task.Run(async () =>
        {
            using var creator = Start("new", "--provider", "docker", "--image", DockerFixture.Busybox, "--name", prefix + i, "--ttl", "4s",
                "--label", $"{DockerFixture.TestLabel}={fixture.RunId}");
            await Task.Delay(delay, cts.Token);
            try
            {
                creator.Kill(); // SIGKILL at some point of the create: none of the creator's cleanup runs
            }
            catch (InvalidOperationException)
            {
            }
            await creator.WaitForExitAsync(cts.Token);
        }, cts.Token)).ToList();
        await Task.WhenAll(creators);

        // Bounded wait: the TTL (4 s), the never-started rule's creator grace (5 s), slack for a loaded engine.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        List<Sandbox> mine;
        do
        {
            await Task.Delay(500, cts.Token);
            mine = [];
            await foreach (var s in fixture.Provider.ListAsync(null, cts.Token))
            {
                if (s.Name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    mine.Add(s);
                }
            }
        } while (mine.Any(s => s.State is not (SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone)) && DateTime.UtcNow < deadline);
        try
        {
            // Nothing runs past its TTL, and a container its killed creator never started reads Failed, not Starting.
            Assert.All(mine, s => Assert.True(s.State is SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone,
                $"{s.Name} is {s.State} well past its TTL"));
        }
        finally
        {
            foreach (var s in mine)
            {
                await fixture.Provider.RemoveAsync(s.Id, CancellationToken.None);
            }
        }
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

    [Fact(Timeout = 300_000)]
    public async Task Cli_NewReadinessTimesOut_RemovesTheContainer()
    {
        using var cts = TestHelpers.Guard();
        var tag = Guid.NewGuid().ToString("N")[..12];
        // 1 % of a CPU: the server needs seconds to start, far more than the 1 ms readiness budget.
        var created = await RunCliAsync(cts.Token, "new", "--provider", "docker", "--image", DockerFixture.Busybox, "--cpus", "0.01",
            "--ready-timeout", "1ms", "--label", $"{DockerFixture.TestLabel}={fixture.RunId}", "--label", $"org.sandboxps.ready={tag}", "--ttl", "10m");
        Assert.True(created.Code != 0, "readiness should have timed out: " + created.Out);
        Assert.Contains("SandboxReadyTimeout", created.Err);
        Assert.Empty(await ListAsync("org.sandboxps.ready", tag, cts.Token));
    }

    [Fact(Timeout = 300_000)]
    public async Task Cli_CtrlCRightAfterTheContainerIsCreated_RemovesIt()
    {
        using var cts = TestHelpers.Guard();
        var tag = Guid.NewGuid().ToString("N")[..12];
        // The engine's event stream says "create" at once (a list call would wait for the start to
        // finish); with 1 % of a CPU the start takes seconds, so the CLI is surely still creating.
        var filters = "{\"type\":[\"container\"],\"event\":[\"create\"],\"label\":[\"org.sandboxps.ctrlc=" + tag + "\"]}";
        using var events = await fixture.Provider.Engine.SendStreamingAsync(HttpMethod.Get, "/events?filters=" + DockerEngineClient.Q(filters), null, null, cts.Token);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync(cts.Token));
        using var creator = Start("new", "--provider", "docker", "--image", DockerFixture.Busybox, "--cpus", "0.01",
            "--label", $"{DockerFixture.TestLabel}={fixture.RunId}", "--label", $"org.sandboxps.ctrlc={tag}", "--ttl", "10m");
        var stdout = creator.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = creator.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            var created = await reader.ReadLineAsync(cts.Token);
            Assert.Contains("\"create\"", created);
            // A process started in the background by a non-interactive shell (as test runners may be)
            // inherits SIGINT ignored; the CLI then gets SIGTERM, which cancels the same way.
            var signal = SignalIgnored(creator.Id, 2) ? "-TERM" : "-INT";
            using var kill = Process.Start("kill", [signal, creator.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync(cts.Token);
            await creator.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!creator.HasExited)
            {
                creator.Kill();
            }
        }
        Assert.True(creator.ExitCode == 130, $"exit {creator.ExitCode}: {await stdout} {await stderr}");
        Assert.Contains("Interrupted", await stderr);
        Assert.Empty(await ListAsync("org.sandboxps.ctrlc", tag, cts.Token));
    }

    /// <summary>Whether a running process ignores a signal (/proc/PID/status SigIgn).</summary>
    private static bool SignalIgnored(int pid, int signal)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        return (mask & (1UL << (signal - 1))) != 0;
    }

    [Theory(Timeout = 300_000)]
    [InlineData(null, "0 666", "1000 700")]           // container user root: the socket is root's, opened to 0666; the directory stays 0700
    [InlineData("65534:65534", "65534 666", "1000 733")] // another container user: it must be able to create the socket
    [InlineData("1000:1000", "1000 666", "1000 733")]    // the host user's own uid
    public async Task Cli_NonRootHostUser_NetworkNone_ConnectsThroughTheSocket(string? containerUser, string socketStat, string directoryStat)
    {
        using var cts = TestHelpers.Guard();
        // A host user other than root, in the engine socket's group (as users in the 'docker' group are).
        var home = Directory.CreateTempSubdirectory("sbx-uid1000-");
        try
        {
            var dockerGid = int.Parse((await ProviderHardeningTests.HostStatGroupAsync(DockerEndpoint.DefaultUnixSocket, cts.Token)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            using (var chown = Process.Start("chown", ["1000:1000", home.FullName]))
            {
                await chown.WaitForExitAsync(cts.Token);
            }
            var user = new HostUser(1000, 1000, [dockerGid], new Dictionary<string, string>
            {
                ["HOME"] = home.FullName,
                ["DOTNET_CLI_HOME"] = home.FullName,
                ["TMPDIR"] = home.FullName,
                ["SANDBOXPS_STATE_DIR"] = Path.Combine(home.FullName, "state"),
                ["DOTNET_NOLOGO"] = "1",
            });
            var name = "sbx-uid1000-" + Guid.NewGuid().ToString("N")[..8];
            var args = new List<string> { "new", "--provider", "docker", "--image", DockerFixture.Busybox, "--network", "none", "--name", name,
                                          "--label", $"{DockerFixture.TestLabel}={fixture.RunId}", "--ttl", "10m" };
            if (containerUser is not null)
            {
                args.AddRange(["--user", containerUser]);
            }
            var created = await RunCliAsAsync(user, cts.Token, [.. args]);
            Assert.True(created.Code == 0, created.Err);
            var sandbox = await fixture.Provider.GetAsync(name, cts.Token);
            Assert.NotNull(sandbox);
            var socket = sandbox!.Endpoint!["unix:".Length..];
            Assert.StartsWith(Path.Combine(home.FullName, "sandboxps-1000", "docker"), socket);

            var exec = await RunCliAsAsync(user, cts.Token, "exec", name, "--", "id", "-u");
            Assert.True(exec.Code == 0, exec.Err);
            Assert.Equal((containerUser?.Split(':')[0] ?? "0") + "\n", exec.Out);
            Assert.Equal([socketStat, directoryStat], await ProviderHardeningTests.HostStatAsync(cts.Token, socket, Path.GetDirectoryName(socket)!));

            var removed = await RunCliAsAsync(user, cts.Token, "rm", name);
            Assert.True(removed.Code == 0, removed.Err);
            Assert.False(Directory.Exists(Path.GetDirectoryName(socket)), "the socket directory goes with the sandbox");
            Assert.Null(await fixture.Provider.GetAsync(name, cts.Token));
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private async Task<List<Sandbox>> ListAsync(string key, string value, CancellationToken ct)
    {
        var found = new List<Sandbox>();
        await foreach (var sandbox in fixture.Provider.ListAsync(new Dictionary<string, string> { [key] = value }, ct))
        {
            found.Add(sandbox);
        }
        return found;
    }
}
