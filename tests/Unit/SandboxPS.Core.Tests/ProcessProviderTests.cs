using System.Text.Json;
using SandboxPS.Core.Providers.Process;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

/// <summary>The process provider running the real server: lifecycle, state files, failure, expiry.</summary>
public sealed class ProcessProviderTests : IAsyncLifetime
{
    private readonly TempStateDir _state = new();

    public Task InitializeAsync() => _state.InitializeAsync();
    public Task DisposeAsync() => _state.DisposeAsync();

    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task Create_Ready_Exec_Remove_LeavesNothing()
    {
        var manager = _state.NewManager();
        var spec = new SandboxSpec { Name = "life" };
        spec.Labels["team"] = "ci";
        spec.Environment["GREETING"] = "hello from env";
        var sandbox = await manager.CreateAsync("process", spec, Guard.Minutes(1));
        sandbox = await manager.WaitReadyAsync(sandbox, Ready, Guard.Minutes(1));
        Assert.Equal(SandboxState.Ready, sandbox.State);
        Assert.StartsWith("http://127.0.0.1:", sandbox.Endpoint);
        Assert.Equal("true", sandbox.Labels[SandboxLabels.Managed]);
        Assert.Equal("life", sandbox.Labels[SandboxLabels.Name]);
        Assert.Equal(sandbox.Id, sandbox.Labels[SandboxLabels.Id]);
        Assert.Equal("ci", sandbox.Labels["team"]);
        Assert.NotNull(sandbox.ExpiresAt);
        Assert.Equal(ProcessSandboxProvider.DefaultTimeToLive, sandbox.ExpiresAt!.Value - sandbox.CreatedAt);

        var client = manager.GetClient(sandbox);
        Assert.Same(client, manager.GetClient(sandbox));
        var result = await client.RunAsync(null, new RunRequest { Command = "echo $GREETING; pwd; echo token=${SANDBOXPS_TOKEN:-absent}" });
        var lines = result.Output.Replace("\r\n", "\n").Trim().Split('\n');
        Assert.Equal("hello from env", lines[0]);
        Assert.Equal(Path.Combine(_state.Path, "process", sandbox.Id, "work"), lines[1]);
        Assert.Equal("token=absent", lines[2]);

        var info = await client.GetInfoAsync();
        var recordFile = Path.Combine(_state.Path, "process", sandbox.Id + ".json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(recordFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_state.Path, "process")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_state.Path));

        // a background job of the session must die with the sandbox too
        await client.RunAsync(null, new RunRequest { Command = "sleep 300 & echo $! > bg.pid" });
        var bgPid = int.Parse((await client.ReadTextAsync("bg.pid")).Content.Trim());
        Assert.True(Directory.Exists($"/proc/{bgPid}"));

        await manager.RemoveAsync(sandbox);
        Assert.False(File.Exists(recordFile));
        Assert.False(Directory.Exists(Path.Combine(_state.Path, "process", sandbox.Id)));
        Assert.False(IsAlive(info.Pid));
        Assert.False(IsAlive(bgPid));
        Assert.Equal(SandboxState.Gone, (await manager.GetStatusAsync(sandbox)).State);
        await manager.RemoveAsync(sandbox);   // idempotent
        await _state.NewProvider().RemoveAsync("0123456789abcdef");   // never existed
    }

    [Fact(Timeout = 60_000)]
    public async Task KilledServer_IsFoundFailed_WithItsExitCodeAndOutput()
    {
        var manager = _state.NewManager();
        var sandbox = await manager.WaitReadyAsync(await manager.CreateAsync("process", new SandboxSpec(), Guard.Minutes(1)), Ready, Guard.Minutes(1));
        var pid = (await manager.GetClient(sandbox).GetInfoAsync()).Pid;

        System.Diagnostics.Process.GetProcessById(pid).Kill();
        SandboxStatus status;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(20);
            status = await manager.GetStatusAsync(sandbox);
        } while (status.State is SandboxState.Ready or SandboxState.Running && DateTime.UtcNow < until);

        Assert.Equal(SandboxState.Failed, status.State);
        Assert.Equal(137, status.ExitCode);
        Assert.Contains(status.LastLogLines!, l => l.Contains("\"listening\""));
        Assert.Contains("signal 9", status.Reason);

        var listed = await ListAsync(manager);
        Assert.Equal(SandboxState.Failed, Assert.Single(listed, s => s.Id == sandbox.Id).State);
        var ex = await Assert.ThrowsAsync<SandboxNotRunningException>(() => manager.WaitReadyAsync(sandbox, Ready, Guard.Minutes(1)));
        Assert.Equal(137, ex.ExitCode);

        var removed = await manager.RemoveExpiredAsync(Guard.Minutes(1));
        Assert.Contains(removed, s => s.Id == sandbox.Id);
        Assert.Empty(await ListAsync(manager));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ttl_EndsTheServer_AndTheSandboxReadsStopped()
    {
        var manager = _state.NewManager();
        var spec = new SandboxSpec { TimeToLive = TimeSpan.FromSeconds(2), IdleTimeout = TimeSpan.FromMinutes(5) };
        var sandbox = await manager.WaitReadyAsync(await manager.CreateAsync("process", spec, Guard.Minutes(1)), Ready, Guard.Minutes(1));
        var info = await manager.GetClient(sandbox).GetInfoAsync();
        Assert.Equal(300, info.IdleTimeoutSeconds);
        Assert.NotNull(info.ExpiresAt);

        SandboxStatus status;
        var until = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(100);
            status = await manager.GetStatusAsync(sandbox);
        } while (status.State is SandboxState.Ready or SandboxState.Running && DateTime.UtcNow < until);
        Assert.Equal(SandboxState.Stopped, status.State);
        Assert.Equal(0, status.ExitCode);
        Assert.False(IsAlive(info.Pid));

        Assert.Contains(await manager.RemoveExpiredAsync(), s => s.Id == sandbox.Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_ReapsSandboxesPastTheirExpiry_Opportunistically()
    {
        var manager = new SandboxManager([_state.NewProvider()]) { OpportunisticReapGrace = TimeSpan.Zero, OpportunisticReapInterval = TimeSpan.Zero };
        var old = await manager.CreateAsync("process", new SandboxSpec { TimeToLive = TimeSpan.FromSeconds(1) }, Guard.Minutes(1));
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((await manager.GetStatusAsync(old)).State is not SandboxState.Stopped && DateTime.UtcNow < until)
        {
            await Task.Delay(100);
        }
        var fresh = await manager.CreateAsync("process", new SandboxSpec(), Guard.Minutes(1));
        Assert.Equal(SandboxState.Gone, (await manager.GetStatusAsync(old)).State);
        Assert.NotEqual(SandboxState.Gone, (await manager.GetStatusAsync(fresh)).State);
        await manager.RemoveAsync(fresh);
    }

    [Fact(Timeout = 60_000)]
    public async Task AnotherProviderInstance_FindsItByName_RecoversTheToken_AndDrivesIt()
    {
        var creator = _state.NewManager();
        var made = await creator.WaitReadyAsync(await creator.CreateAsync("process", new SandboxSpec { Name = "shared" }, Guard.Minutes(1)), Ready, Guard.Minutes(1));

        var other = _state.NewManager();   // nothing in memory: state directory only
        var byName = await other.ResolveAsync("shared");
        var byPrefix = await other.ResolveAsync(made.Id[..6]);
        Assert.Equal(made.Id, byName.Id);
        Assert.Equal(made.Id, byPrefix.Id);
        Assert.Equal(SandboxState.Ready, byName.State);
        var result = await other.GetClient(byName).ExecAsync(new ExecRequest { Argv = ["echo", "driven"] });
        Assert.Equal("driven\n", result.Stdout);

        var dup = await Assert.ThrowsAsync<SandboxException>(() => other.CreateAsync("process", new SandboxSpec { Name = "shared" }));
        Assert.Equal(SandboxErrorIds.SandboxNameInUse, dup.ErrorId);
        Assert.Equal(SandboxErrorKind.AlreadyExists, dup.Kind);

        var missing = await Assert.ThrowsAsync<SandboxException>(() => other.ResolveAsync("no-such-sandbox"));
        Assert.Equal(SandboxErrorIds.SandboxNotFound, missing.ErrorId);

        await other.RemoveAsync(byName);
        Assert.Equal(SandboxState.Gone, (await creator.GetStatusAsync(made)).State);
    }

    [Fact(Timeout = 60_000)]
    public async Task OwnWorkingDirectory_AndMaxSessions_ReachTheServer()
    {
        var manager = _state.NewManager();
        var workdir = Path.Combine(_state.Path, "my-workdir");
        var sandbox = await manager.WaitReadyAsync(
            await manager.CreateAsync("process", new SandboxSpec { WorkingDirectory = workdir, MaxSessions = 2 }, Guard.Minutes(1)), Ready, Guard.Minutes(1));
        var client = manager.GetClient(sandbox);
        var info = await client.GetInfoAsync();
        Assert.Equal(workdir, info.WorkDir);
        Assert.Equal(2, info.MaxSessions);
        await client.CreateSessionAsync(new CreateSessionRequest());
        await client.CreateSessionAsync(new CreateSessionRequest());
        var full = await Assert.ThrowsAsync<SandboxException>(() => client.CreateSessionAsync(new CreateSessionRequest()));
        Assert.Equal(SandboxErrorKind.QuotaExceeded, full.Kind);
        Assert.Equal(ErrorIds.CapacityReached, full.ErrorId);
        await manager.RemoveAsync(sandbox);
        Assert.True(Directory.Exists(workdir), "a working directory the user chose is not deleted");
    }

    [Fact]
    public void StateDirectory_FollowsTheEnvironmentOrder()
    {
        Assert.Equal(Path.Combine("/x/state", "sandboxps"), WithEnv(null, "/x/state", SandboxStateDirectory.Resolve));
        Assert.Equal("/y/explicit", WithEnv("/y/explicit", "/x/state", SandboxStateDirectory.Resolve));
        Assert.EndsWith(Path.Combine(".local", "state", "sandboxps"), WithEnv(null, null, SandboxStateDirectory.Resolve));
    }

    private static T WithEnv<T>(string? stateDir, string? xdg, Func<T> body)
    {
        var oldState = Environment.GetEnvironmentVariable(SandboxStateDirectory.Variable);
        var oldXdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        try
        {
            Environment.SetEnvironmentVariable(SandboxStateDirectory.Variable, stateDir);
            Environment.SetEnvironmentVariable("XDG_STATE_HOME", xdg);
            return body();
        }
        finally
        {
            Environment.SetEnvironmentVariable(SandboxStateDirectory.Variable, oldState);
            Environment.SetEnvironmentVariable("XDG_STATE_HOME", oldXdg);
        }
    }

    private static async Task<List<Sandbox>> ListAsync(SandboxManager manager)
    {
        var list = new List<Sandbox>();
        await foreach (var s in manager.ListAsync())
        {
            list.Add(s);
        }
        return list;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
