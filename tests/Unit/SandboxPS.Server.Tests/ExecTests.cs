using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class ExecTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Fact(Timeout = 30000)]
    public async Task Argv_SeparateStdoutStderr_ExitCode()
    {
        var r = await Server.ExecAsync(new ExecRequest { Argv = ["sh", "-c", "echo out; echo err >&2; exit 3"] });
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        Assert.False(r.TimedOut);
        Assert.True(r.DurationMs >= 0);
    }

    [Fact(Timeout = 30000)]
    public async Task Argv_IsNotShellInterpreted()
    {
        var r = await Server.ExecAsync(new ExecRequest { Argv = ["echo", "$HOME", "a b", "'q'", ";", "*"] });
        Assert.Equal("$HOME a b 'q' ; *\n", r.Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task Shell_Pipelines_Stdin_Env_Cwd()
    {
        var dir = Directory.CreateDirectory(Path.Combine(Server.WorkDir, "exec-cwd")).FullName;
        var r = await Server.ExecAsync(new ExecRequest
        {
            Shell = "pwd; echo $FOO; tr a-z A-Z",
            Cwd = dir,
            Env = new() { ["FOO"] = "bar baz" },
            Stdin = "hello stdin\n",
        });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"{dir}\nbar baz\nHELLO STDIN\n", r.Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task RelativeCwd_ResolvesAgainstWorkDir()
    {
        Directory.CreateDirectory(Path.Combine(Server.WorkDir, "rel"));
        var r = await Server.ExecAsync(new ExecRequest { Argv = ["pwd"], Cwd = "rel" });
        Assert.Equal(Path.Combine(Server.WorkDir, "rel") + "\n", r.Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task Timeout_KillsTheTree_124()
    {
        var clock = Stopwatch.StartNew();
        // Durations no other test (or test run on this machine) uses, so pgrep counts only ours.
        var tag = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = await Server.ExecAsync(new ExecRequest { Shell = $"echo before; sleep 4{tag} & sleep 5{tag}; echo never", TimeoutSeconds = 1 });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "hang guard");
        Assert.True(r.TimedOut);
        Assert.Equal(124, r.ExitCode);
        Assert.Equal("before\n", r.Stdout);
        var left = await Server.ExecAsync(new ExecRequest { Shell = $"pgrep -f 'sleep [45]{tag}$' | wc -l" });
        Assert.Equal("0\n", left.Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task MissingProgram_400ExecutableNotFound()
    {
        var p = await Server.PostProblemAsync("/v1/exec", """{"argv":["no-such-program-xyz"]}""", HttpStatusCode.BadRequest, ErrorIds.ExecutableNotFound);
        Assert.Contains("no-such-program-xyz", p.Detail);
        await Server.PostProblemAsync("/v1/exec", """{"argv":["true"],"cwd":"/no/such/dir"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidPath);
        await Server.PostProblemAsync("/v1/exec", """{"argv":[]}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/exec", """{"argv":["true"],"timeoutSeconds":0}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
    }

    [Fact(Timeout = 30000)]
    public async Task TokenIsNotInTheEnvironment()
    {
        var r = await Server.ExecAsync(new ExecRequest { Argv = ["env"] });
        Assert.DoesNotContain(ProtocolConstants.TokenEnvironmentVariable, r.Stdout);
        Assert.DoesNotContain(Server.Token, r.Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task Output_Capped_Truncated()
    {
        var r = await Server.ExecAsync(new ExecRequest { Shell = "seq 1 100000; seq 1 10 >&2", MaxOutputBytes = 100 });
        Assert.True(r.Truncated);
        Assert.StartsWith("1\n2\n", r.Stdout);
        Assert.EndsWith("100000\n", r.Stdout);
        Assert.Equal(string.Concat(Enumerable.Range(1, 10).Select(i => i + "\n")), r.Stderr);
    }

    [Fact(Timeout = 30000)]
    public async Task BackgroundChildHoldingPipes_DoesNotHangExec()
    {
        var clock = Stopwatch.StartNew();
        var r = await Server.ExecAsync(new ExecRequest { Shell = "sleep 43 & echo started" });
        Assert.Equal("started\n", r.Stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "hang guard");
        await Server.ExecAsync(new ExecRequest { Shell = "pkill -f 'sleep 43'; true" });
    }

    [Fact(Timeout = 30000)]
    public async Task Stream_StdoutAndStderrEvents_ThenExit()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/exec?stream=true")
        {
            Content = JsonContent.Create(new ExecRequest { Shell = "echo o1; sleep 0.2; echo e1 >&2; sleep 0.2; echo o2; exit 4" }, ProtocolJsonContext.Default.ExecRequest),
        };
        using var response = await Server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(ProtocolConstants.NdjsonMediaType, response.Content.Headers.ContentType?.MediaType);
        var events = new List<StreamEvent>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            events.Add(JsonSerializer.Deserialize(line, ProtocolJsonContext.Default.StreamEvent)!);
        }
        Assert.Equal(
            ["stdout:o1\n", "stderr:e1\n", "stdout:o2\n"],
            events[..^1].Select(e => e.Type + ":" + e.Data).ToArray());
        var exit = events[^1];
        Assert.Equal(StreamEventTypes.Exit, exit.Type);
        Assert.Equal(4, exit.Exec!.ExitCode);
        Assert.Equal("o1\no2\n", exit.Exec.Stdout);
        Assert.Equal("e1\n", exit.Exec.Stderr);
    }
}

public sealed class ExecResolutionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 30000)]
    public async Task RelativeProgram_IsRelativeToCwd_BareNameUsesRequestPath()
    {
        var server = fixture.Server;
        var dir = Directory.CreateDirectory(Path.Combine(server.WorkDir, "exec-res", "bin")).FullName;
        var script = Path.Combine(dir, "hello-sbx");
        File.WriteAllText(script, "#!/bin/sh\necho from-script \"$@\"\n");
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        var r1 = await server.ExecAsync(new ExecRequest { Argv = ["./bin/hello-sbx", "a"], Cwd = Path.GetDirectoryName(dir) });
        Assert.Equal("from-script a\n", r1.Stdout);
        var r2 = await server.ExecAsync(new ExecRequest { Argv = ["hello-sbx", "b"], Env = new() { ["PATH"] = dir + ":/usr/bin:/bin" } });
        Assert.Equal("from-script b\n", r2.Stdout);
        await server.PostProblemAsync("/v1/exec", """{"argv":["hello-sbx"]}""", System.Net.HttpStatusCode.BadRequest, ErrorIds.ExecutableNotFound);
    }
}
