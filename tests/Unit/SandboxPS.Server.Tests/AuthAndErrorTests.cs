using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class AuthAndErrorTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Fact(Timeout = 30000)]
    public async Task Health_NoToken_AnswersOk()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(Server.Url) };
        var health = await anonymous.GetFromJsonAsync("/health", ProtocolJsonContext.Default.HealthResponse);
        Assert.Equal("ok", health!.Status);
        Assert.Equal(ProtocolConstants.Version, health.ProtocolVersion);
        Assert.False(string.IsNullOrEmpty(health.Version));
    }

    [Theory(Timeout = 30000)]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    public async Task AnyRoute_MissingOrWrongToken_401AndNothingRuns(string? authorization)
    {
        var marker = Path.Combine(Server.WorkDir, "unauthorized-" + Guid.NewGuid().ToString("n"));
        using var client = new HttpClient { BaseAddress = new Uri(Server.Url) };
        var requests = new List<HttpRequestMessage>
        {
            new(HttpMethod.Post, "/v1/exec") { Content = new StringContent($$"""{"shell":"touch {{marker}}"}""", Encoding.UTF8, "application/json") },
            new(HttpMethod.Post, "/v1/sessions/default/run") { Content = new StringContent($$"""{"command":"touch {{marker}}"}""", Encoding.UTF8, "application/json") },
            new(HttpMethod.Put, $"/v1/files?path={marker}") { Content = new StringContent("x") },
            new(HttpMethod.Get, "/v1/info"),
            new(HttpMethod.Get, "/v1/no-such-route"),
        };
        foreach (var request in requests)
        {
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }
            using var response = await client.SendAsync(request);
            var problem = await ServerProcess.ProblemAsync(response, HttpStatusCode.Unauthorized, ErrorIds.Unauthorized);
            Assert.DoesNotContain(Server.Token, problem.Detail);
        }
        await Task.Delay(200);
        Assert.False(File.Exists(marker));
    }

    [Fact(Timeout = 30000)]
    public async Task Info_WithToken_DescribesTheServer()
    {
        var info = await Server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal("linux", info.Os);
        Assert.Equal(Server.WorkDir, info.WorkDir);
        Assert.Equal(32, info.MaxSessions);
        Assert.Equal(Server.Pid, info.Pid);
        Assert.Null(info.IdleTimeoutSeconds);
        Assert.Null(info.ExpiresAt);
        Assert.NotNull(info.Shell);
        Assert.True(info.UptimeSeconds >= 0);
    }

    [Fact(Timeout = 30000)]
    public async Task UnknownRoute_404RouteNotFound()
    {
        using var response = await Server.Http.GetAsync("/v1/nothing/here");
        await ServerProcess.ProblemAsync(response, HttpStatusCode.NotFound, ErrorIds.RouteNotFound);
        using var root = await Server.Http.GetAsync("/");
        await ServerProcess.ProblemAsync(root, HttpStatusCode.NotFound, ErrorIds.RouteNotFound);
    }

    [Fact(Timeout = 30000)]
    public async Task WrongMethod_405MethodNotAllowed()
    {
        using var response = await Server.Http.DeleteAsync("/v1/exec");
        await ServerProcess.ProblemAsync(response, HttpStatusCode.MethodNotAllowed, ErrorIds.MethodNotAllowed);
    }

    [Theory(Timeout = 30000)]
    [InlineData("{not json")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("""{"argv":["true"],"bogusField":1}""")]
    [InlineData("""{"argv":"true"}""")]
    [InlineData("""{"argv":["true"],"shell":"true"}""")]
    [InlineData("""{}""")]
    public async Task Exec_MalformedBody_400InvalidRequest(string body)
    {
        var problem = await Server.PostProblemAsync("/v1/exec", body, HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        Assert.False(string.IsNullOrEmpty(problem.Detail));
        // Still serving.
        var result = await Server.ExecAsync(new ExecRequest { Argv = ["true"] });
        Assert.Equal(0, result.ExitCode);
    }

    [Fact(Timeout = 30000)]
    public async Task Run_UnknownField_400NamesTheField()
    {
        var problem = await Server.PostProblemAsync("/v1/sessions/default/run", """{"command":"true","timeout":3}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        Assert.Contains("timeout", problem.Detail);
    }

    [Fact(Timeout = 30000)]
    public async Task OversizedHeader_431_ServerKeepsAnswering()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/info");
        request.Headers.TryAddWithoutValidation("X-Huge", new string('a', 64 * 1024));
        using var response = await Server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        var info = await Server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        Assert.Equal(Server.Pid, info.Pid);
    }

    [Fact(Timeout = 30000)]
    public async Task RequestId_RepeatedRun_RunsOnceAndReplays()
    {
        var file = Path.Combine(Server.WorkDir, "replay-" + Guid.NewGuid().ToString("n"));
        var id = Guid.NewGuid().ToString();
        var bodies = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/exec")
            {
                Content = JsonContent.Create(new ExecRequest { Shell = $"echo run >> {file}; wc -l < {file}" }, ProtocolJsonContext.Default.ExecRequest),
            };
            request.Headers.Add(ProtocolConstants.RequestIdHeader, id);
            using var response = await Server.Http.SendAsync(request);
            await ServerProcess.Expect(response, HttpStatusCode.OK);
            bodies.Add(await response.Content.ReadAsStringAsync());
        }
        Assert.Equal("run\n", File.ReadAllText(file));
        Assert.All(bodies, b => Assert.Equal(bodies[0], b));
        // A new id runs again.
        using var again = new HttpRequestMessage(HttpMethod.Post, "/v1/exec")
        {
            Content = JsonContent.Create(new ExecRequest { Shell = $"echo run >> {file}" }, ProtocolJsonContext.Default.ExecRequest),
        };
        again.Headers.Add(ProtocolConstants.RequestIdHeader, Guid.NewGuid().ToString());
        using var r2 = await Server.Http.SendAsync(again);
        await ServerProcess.Expect(r2, HttpStatusCode.OK);
        Assert.Equal("run\nrun\n", File.ReadAllText(file));
    }

    [Fact(Timeout = 30000)]
    public async Task RequestId_WhileStillRunning_409RequestInProgress_ThenReplay()
    {
        var file = Path.Combine(Server.WorkDir, "inflight-" + Guid.NewGuid().ToString("n"));
        var id = Guid.NewGuid().ToString();
        HttpRequestMessage Make()
        {
            var r = new HttpRequestMessage(HttpMethod.Post, "/v1/sessions/inflight-" + id[..8] + "/run")
            {
                Content = JsonContent.Create(new RunRequest { Command = $"echo x >> {file}; sleep 2" }, ProtocolJsonContext.Default.RunRequest),
            };
            r.Headers.Add(ProtocolConstants.RequestIdHeader, id);
            return r;
        }
        await Server.CreateSessionAsync(new CreateSessionRequest { Id = "inflight-" + id[..8] });
        var first = Server.Http.SendAsync(Make());
        for (int i = 0; i < 200 && !(await Server.GetAsync("/v1/sessions/inflight-" + id[..8], ProtocolJsonContext.Default.SessionInfo)).Busy; i++)
        {
            await Task.Delay(20);
        }
        using (var second = await Server.Http.SendAsync(Make()))
        {
            await ServerProcess.ProblemAsync(second, HttpStatusCode.Conflict, ErrorIds.RequestInProgress);
        }
        using var firstResponse = await first;
        await ServerProcess.Expect(firstResponse, HttpStatusCode.OK);
        using var third = await Server.Http.SendAsync(Make());
        await ServerProcess.Expect(third, HttpStatusCode.OK);
        Assert.Equal(await firstResponse.Content.ReadAsStringAsync(), await third.Content.ReadAsStringAsync());
        Assert.Equal("x\n", File.ReadAllText(file));
    }

    [Fact(Timeout = 30000)]
    public async Task RequestId_FailedCall_ReplaysTheFailure()
    {
        var id = Guid.NewGuid().ToString();
        for (int i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/exec")
            {
                Content = JsonContent.Create(new ExecRequest { Argv = ["/no/such/program"] }, ProtocolJsonContext.Default.ExecRequest),
            };
            request.Headers.Add(ProtocolConstants.RequestIdHeader, id);
            using var response = await Server.Http.SendAsync(request);
            await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.ExecutableNotFound);
        }
    }
}

/// <summary>The command line: help, bad options, missing token.</summary>
public sealed class CommandLineTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(string[] args, bool withToken = true)
    {
        var psi = new ProcessStartInfo(ServerProcess.BinaryPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove(ProtocolConstants.TokenEnvironmentVariable);
        if (withToken) psi.Environment[ProtocolConstants.TokenEnvironmentVariable] = "t0k3n";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact(Timeout = 30000)]
    public async Task Help_DocumentsEveryOption()
    {
        var (code, stdout, _) = await RunAsync(["--help"]);
        Assert.Equal(0, code);
        foreach (var option in new[] { "--listen", "--unix", "--unix-mode", "--token-file", "--workdir", "--idle-timeout", "--ttl", "--max-sessions", "--quiet", "SANDBOXPS_TOKEN", "DURATION" })
        {
            Assert.Contains(option, stdout);
        }
    }

    [Theory(Timeout = 30000)]
    [InlineData("--bogus")]
    [InlineData("--listen", "nohost")]
    [InlineData("--listen", "127.0.0.1:99999")]
    [InlineData("--idle-timeout", "soon")]
    [InlineData("--ttl", "-5")]
    [InlineData("--max-sessions", "0")]
    [InlineData("--max-sessions")]
    [InlineData("--workdir", "/no/such/dir")]
    public async Task BadOption_Exit2WithMessage_NoStackTrace(params string[] args)
    {
        var (code, _, stderr) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.StartsWith("sandboxps-server: ", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Exception", stderr);
    }

    [Fact(Timeout = 30000)]
    public async Task NoToken_Exit2_SaysHowToGiveOne()
    {
        var (code, _, stderr) = await RunAsync(["--listen", "127.0.0.1:0"], withToken: false);
        Assert.Equal(2, code);
        Assert.Contains("SANDBOXPS_TOKEN", stderr);
        Assert.Contains("--token-file", stderr);
    }

    [Fact(Timeout = 30000)]
    public async Task TokenFile_IsUsed_AndTokenEnvIsNotRequired()
    {
        var dir = Directory.CreateTempSubdirectory("sbx-tokenfile-").FullName;
        try
        {
            var tokenFile = Path.Combine(dir, "token");
            File.WriteAllText(tokenFile, "file-token-123\n");
            await using var server = await ServerProcess.StartAsync(["--listen", "127.0.0.1:0", "--token-file", tokenFile]);
            using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "file-token-123");
            using var ok = await client.GetAsync("/v1/info");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            // The env token given by the harness is not the one in use now.
            using var wrong = await server.Http.GetAsync("/v1/info");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

public sealed class RequestIdBudgetTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 120000)]
    public async Task StoredAnswers_AreBoundedInBytes_OldestGoFirst()
    {
        var server = fixture.Server;
        var file = Path.Combine(server.WorkDir, "budget-" + Guid.NewGuid().ToString("n"));
        async Task<string> Call(string id, string shell)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/exec")
            {
                Content = JsonContent.Create(new ExecRequest { Shell = shell, MaxOutputBytes = 2 * 1024 * 1024 }, ProtocolJsonContext.Default.ExecRequest),
            };
            request.Headers.Add(ProtocolConstants.RequestIdHeader, id);
            using var response = await server.Http.SendAsync(request);
            await ServerProcess.Expect(response, HttpStatusCode.OK);
            return await response.Content.ReadAsStringAsync();
        }
        var oldest = Guid.NewGuid().ToString();
        await Call(oldest, $"echo x >> {file}; head -c 1048576 /dev/zero | tr '\\0' a");
        string? last = null;
        string lastId = "";
        for (int i = 0; i < 80; i++)
        {
            lastId = Guid.NewGuid().ToString();
            last = await Call(lastId, "head -c 1048576 /dev/zero | tr '\\0' b");
        }
        // The newest answer is still replayed; the oldest was dropped to stay within the byte budget, so it runs again.
        Assert.Equal(last, await Call(lastId, "head -c 1048576 /dev/zero | tr '\\0' b"));
        await Call(oldest, $"echo x >> {file}; head -c 1048576 /dev/zero | tr '\\0' a");
        Assert.Equal("x\nx\n", File.ReadAllText(file));
        Assert.True(server.RssKb() < 400 * 1024, $"server RSS {server.RssKb() / 1024} MB");
    }
}
