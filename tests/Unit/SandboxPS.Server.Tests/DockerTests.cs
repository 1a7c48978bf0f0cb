using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>
/// The static binary inside real containers: busybox (no libc, no bash), read-only root, user
/// 65534, and as PID 1 (init duty: reaping orphans, forwarding SIGTERM). Needs a running Docker
/// engine and the sandboxps/busybox:1.35 image (scripts/setup-docker.sh); fails loudly without.
/// </summary>
public sealed class DockerFixture : IAsyncLifetime
{
    public const string Image = "sandboxps/busybox:1.35";
    public string ContainerId { get; private set; } = "";
    public HttpClient Http { get; private set; } = null!;
    public string Token { get; } = "docker-" + Guid.NewGuid().ToString("n");

    public static async Task<(int Code, string Out, string Err)> DockerAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, (await o).Trim(), (await e).Trim());
    }

    public async Task InitializeAsync()
    {
        var (code, id, err) = await DockerAsync("run", "-d",
            "--label", "org.sandboxps.test=server-tests", "--label", "sandboxps.managed=false",
            "--read-only", "--user", "65534:65534", "--network", "bridge",
            "-p", "127.0.0.1::8080",
            "-v", ServerProcess.BinaryPath + ":/opt/sbx/sandboxps-server:ro",
            "-e", ProtocolConstants.TokenEnvironmentVariable + "=" + Token,
            Image, "/opt/sbx/sandboxps-server", "--listen", "0.0.0.0:8080", "--workdir", "/");
        Assert.True(code == 0, $"docker run failed ({code}): {err}. Is Docker running and {Image} built (scripts/setup-docker.sh)?");
        ContainerId = id;
        var (_, port, perr) = await DockerAsync("port", id, "8080/tcp");
        var hostPort = port.Split('\n')[0].Split(':').Last();
        Assert.True(int.TryParse(hostPort, out _), $"no published port: {port} {perr}");
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{hostPort}"), Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var r = await Http.GetAsync("/health");
                if (r.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException)
            {
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                var logs = await DockerAsync("logs", id);
                Assert.Fail($"server in container not ready: {logs.Out} {logs.Err}");
            }
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (ContainerId.Length > 0)
        {
            await DockerAsync("rm", "-f", ContainerId);
        }
    }
}

public sealed class DockerTests(DockerFixture fixture) : IClassFixture<DockerFixture>
{
    private async Task<T> Post<TReq, T>(string path, TReq body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TReq> req, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> res)
    {
        using var response = await fixture.Http.PostAsJsonAsync(path, body, req);
        await ServerProcess.Expect(response, HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync(res))!;
    }

    private Task<ExecResult> Exec(string shell) =>
        Post("/v1/exec", new ExecRequest { Shell = shell }, ProtocolJsonContext.Default.ExecRequest, ProtocolJsonContext.Default.ExecResult);

    [Fact(Timeout = 60000)]
    public async Task Busybox_ReadOnly_NonRoot_ServerRunsAsChildOfInit()
    {
        var info = await fixture.Http.GetFromJsonAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal(65534, info!.Uid);
        Assert.NotEqual(1, info.Pid);
        Assert.Equal("/bin/sh", info.Shell);
        Assert.Null(info.Python);
        var r = await Exec("cat /proc/1/cmdline | tr '\\0' ' '; echo; id -u; touch /x 2>&1; echo rc=$?");
        Assert.StartsWith("/opt/sbx/sandboxps-server", r.Stdout);
        Assert.Contains("65534", r.Stdout);
        Assert.Contains("rc=1", r.Stdout);
    }

    [Fact(Timeout = 60000)]
    public async Task Pid1_ReapsOrphanedZombies()
    {
        // Each subshell exits at once; its sleep is orphaned to PID 1 and must be reaped when it ends.
        var r = await Exec("for i in 1 2 3 4 5; do (sleep 0.2 &); done; echo spawned");
        Assert.Equal("spawned\n", r.Stdout);
        // The sleeps end after 0.2 s; under load give them (and the reaper) up to 15 s, checking as we go.
        var clock = Stopwatch.StartNew();
        List<string> zombies;
        do
        {
            await Task.Delay(300);
            var stats = await Exec("for f in /proc/[0-9]*/stat; do cat $f 2>/dev/null; echo; done");
            zombies = stats.Stdout.Split('\n').Where(l => l.Contains(") Z ") || l.Contains("(sleep)")).ToList();
        }
        while (zombies.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(15));
        Assert.True(zombies.Count == 0, "zombies (or sleeps) left after 15 s: " + string.Join(" | ", zombies));
    }

    [Fact(Timeout = 60000)]
    public async Task Ash_ShellSession_StateTimeoutAndReuse()
    {
        var id = "ash-" + Guid.NewGuid().ToString("n")[..6];
        using (var c = await fixture.Http.PostAsJsonAsync("/v1/sessions", new CreateSessionRequest { Id = id }, ProtocolJsonContext.Default.CreateSessionRequest))
        {
            await ServerProcess.Expect(c, HttpStatusCode.Created);
        }
        Task<RunResult> Run(string command, double? timeout = null) =>
            Post($"/v1/sessions/{id}/run", new RunRequest { Command = command, TimeoutSeconds = timeout }, ProtocolJsonContext.Default.RunRequest, ProtocolJsonContext.Default.RunResult);
        var r1 = await Run("cd /proc && export V=42 && f() { echo fn$1; }");
        Assert.Equal("/proc", r1.Cwd);
        var r2 = await Run("pwd; echo $V; f 1; (exit 3)");
        Assert.Equal("/proc\n42\nfn1\n", r2.Output);
        Assert.Equal(3, r2.ExitCode);
        var t = await Run("sleep 20", 0.5);
        Assert.True(t.TimedOut);
        var r3 = await Run("echo $V again");
        Assert.Equal("42 again\n", r3.Output);
        using var py = await fixture.Http.PostAsJsonAsync("/v1/sessions", new CreateSessionRequest { Kind = "python" }, ProtocolJsonContext.Default.CreateSessionRequest);
        await ServerProcess.ProblemAsync(py, HttpStatusCode.BadRequest, ErrorIds.PythonNotAvailable);
    }

    [Fact(Timeout = 60000)]
    public async Task ReadOnlyRoot_WriteFails_PermissionDenied_TmpfsStillWritable()
    {
        using var content = new ByteArrayContent([1, 2, 3]);
        using var response = await fixture.Http.PutAsync("/v1/files?path=/etc/new-file", content);
        await ServerProcess.ProblemAsync(response, HttpStatusCode.Forbidden, ErrorIds.PermissionDenied);
    }
}

public sealed class DockerStopTests
{
    [Fact(Timeout = 60000)]
    public async Task DockerStop_InitForwardsSigterm_ExitsZeroQuickly()
    {
        var (code, id, err) = await DockerFixture.DockerAsync("run", "-d",
            "--label", "org.sandboxps.test=server-tests",
            "-v", ServerProcess.BinaryPath + ":/opt/sbx/sandboxps-server:ro",
            "-e", ProtocolConstants.TokenEnvironmentVariable + "=t",
            DockerFixture.Image, "/opt/sbx/sandboxps-server", "--listen", "127.0.0.1:0");
        Assert.True(code == 0, err);
        try
        {
            // Wait until the server printed its line, then stop with a grace far above what it needs.
            for (int i = 0; i < 200 && !(await DockerFixture.DockerAsync("logs", id)).Out.Contains("listening"); i++)
            {
                await Task.Delay(50);
            }
            var clock = Stopwatch.StartNew();
            await DockerFixture.DockerAsync("stop", "-t", "20", id);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "SIGTERM was not forwarded (docker waited for the kill)");
            var (_, exit, _) = await DockerFixture.DockerAsync("inspect", "-f", "{{.State.ExitCode}}", id);
            Assert.Equal("0", exit);
        }
        finally
        {
            await DockerFixture.DockerAsync("rm", "-f", id);
        }
    }
}
