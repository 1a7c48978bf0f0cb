using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class LifecycleTests
{
    [Fact(Timeout = 30000)]
    public async Task IdleTimeout_ExitsWithZeroAfterQuietPeriod()
    {
        await using var server = await ServerProcess.StartAsync(["--listen", "127.0.0.1:0", "--idle-timeout", "3s"]);
        var info = await server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal(3, info.IdleTimeoutSeconds);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact(Timeout = 30000)]
    public async Task IdleTimeout_RunningCommandKeepsServerAlive()
    {
        await using var server = await ServerProcess.StartAsync(["--listen", "127.0.0.1:0", "--idle-timeout", "3"]);
        var r = await server.RunAsync("sleep 5; echo survived");
        Assert.Equal("survived\n", r.Output);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact(Timeout = 30000)]
    public async Task Ttl_ExitsEvenWhenBusy()
    {
        await using var server = await ServerProcess.StartAsync(["--listen", "127.0.0.1:0", "--ttl", "2s"]);
        var info = await server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.NotNull(info.ExpiresAt);
        Assert.InRange((info.ExpiresAt!.Value - info.StartedAt).TotalSeconds, 1.9, 2.1);
        var keepBusy = Task.Run(async () =>
        {
            for (int i = 0; i < 100 && !server.HasExited; i++)
            {
                try { await server.Http.GetAsync("/v1/info"); } catch (HttpRequestException) { }
                await Task.Delay(100);
            }
        });
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        await keepBusy;
    }

    [Fact(Timeout = 30000)]
    public async Task Shutdown_Answers202_ExitsZero_KillsSessions()
    {
        await using var server = await ServerProcess.StartAsync();
        var shellPid = int.Parse((await server.RunAsync("echo $$")).Output.Trim());
        var bgPid = int.Parse((await server.RunAsync("sleep 300 & echo $!")).Output.Split('\n').First(l => int.TryParse(l, out _)));
        using var response = await server.Http.PostAsync("/v1/shutdown", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        for (int i = 0; i < 50 && (Alive(shellPid) || Alive(bgPid)); i++)
        {
            await Task.Delay(50);
        }
        Assert.False(Alive(shellPid), "the session shell outlived the server");
        Assert.False(Alive(bgPid), "a background job outlived the server");
    }

    private static bool Alive(int pid) =>
        File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");

    [Fact(Timeout = 30000)]
    public async Task SigTerm_ExitsZero()
    {
        await using var server = await ServerProcess.StartAsync();
        await server.RunAsync("true");
        Process.Start("kill", ["-TERM", server.Pid.ToString()])!.WaitForExit();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact(Timeout = 30000)]
    public async Task UnixSocket_Listens_Mode0600()
    {
        var dir = Directory.CreateTempSubdirectory("sbx-unix-").FullName;
        var socket = Path.Combine(dir, "s.sock");
        try
        {
            var token = "unix-token-" + Guid.NewGuid().ToString("n");
            var psi = new ProcessStartInfo(ServerProcess.BinaryPath) { RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("--unix");
            psi.ArgumentList.Add(socket);
            psi.Environment[ProtocolConstants.TokenEnvironmentVariable] = token;
            using var process = Process.Start(psi)!;
            try
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
                using var doc = JsonDocument.Parse(line!);
                Assert.Equal("unix:" + socket, doc.RootElement.GetProperty("listening").GetString());
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
                var handler = new SocketsHttpHandler
                {
                    ConnectCallback = async (_, ct) =>
                    {
                        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                        return new NetworkStream(s, ownsSocket: true);
                    },
                };
                using var client = new HttpClient(handler) { BaseAddress = new Uri("http://localhost") };
                client.DefaultRequestHeaders.Authorization = new("Bearer", token);
                var info = await client.GetFromJsonAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
                Assert.Equal(process.Id, info!.Pid);
            }
            finally
            {
                process.Kill(true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
