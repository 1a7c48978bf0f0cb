using System.Net;
using System.Text;
using SandboxPS.Protocol;
using Xunit.Abstractions;

namespace SandboxPS.Server.Tests;

/// <summary>
/// Timeouts and interrupts at many instants of a run (before the command starts, while it is handed
/// over, while it runs, while its output drains), on bash, dash, busybox ash and python sessions.
/// After each one the session must be exactly usable: the next command prints exactly its own output,
/// no result holds another command's output or the session's marker, nothing stays busy, the server lives.
/// Bounded: a fixed number of rounds, every request with its own deadline.
/// </summary>
public static class TimeoutRaces
{
    private static readonly TimeSpan RequestLimit = TimeSpan.FromSeconds(20);

    public static async Task RunAsync(ServerProcess server, string sessionId, bool python, int rounds, ITestOutputHelper log)
    {
        var seed = Environment.GetEnvironmentVariable("SANDBOXPS_RACE_SEED") is { } s ? int.Parse(s) : Random.Shared.Next();
        log.WriteLine($"race seed {seed} (replay: SANDBOXPS_RACE_SEED={seed})");
        var random = new Random(seed);
        var big = new string('#', 200_000);
        for (int i = 0; i < rounds; i++)
        {
            var tag = $"R{i}x";
            // The command: quick (its output drains while the timeout fires), a short sleep, or a long
            // text to hand over (the timeout fires during the hand-over).
            int shape = i % 3;
            int sleepMs = random.Next(0, 40);
            string command = (python, shape) switch
            {
                (false, 0) => $"echo {tag}",
                (false, 1) => $"sleep 0.{sleepMs:D3}; echo {tag}",
                (false, _) => $": '{big}'; echo {tag}",
                (true, 0) => $"print('{tag}')",
                (true, 1) => $"import time; time.sleep({sleepMs / 1000.0}); print('{tag}')",
                (true, _) => $"_ = '{big}'; print('{tag}')",
            };
            RunResult first;
            string how;
            if (i % 2 == 0)
            {
                double timeout = 0.01 + random.Next(0, 30) / 1000.0;
                how = $"timeout {timeout}";
                first = await Run(server, sessionId, command, timeout);
            }
            else
            {
                int delayMs = random.Next(0, 30);
                how = $"interrupt after {delayMs} ms";
                var running = Run(server, sessionId, command, null);
                if (delayMs > 0)
                {
                    await Task.Delay(delayMs);
                }
                using var cts = new CancellationTokenSource(RequestLimit);
                using var response = await server.Http.PostAsync($"/v1/sessions/{sessionId}/interrupt", null, cts.Token);
                Assert.True(response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.Conflict,
                    $"round {i} ({how}): interrupt answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                first = await running;
            }
            var context = $"round {i} (seed {seed}, shape {shape}, {how})";
            CheckOwnOutputOnly(first.Output, tag, i, context);
            if (!first.TimedOut && !first.Interrupted)
            {
                Assert.True(first.ExitCode == 0, $"{context}: a run that was not stopped must succeed; got {first.ExitCode}: {first.Output}");
                Assert.EndsWith(tag + "\n", first.Output);
            }
            var probe = $"P{i}y";
            var next = await Run(server, sessionId, python ? $"print('{probe}')" : $"echo {probe}", null);
            Assert.True(probe + "\n" == next.Output, $"{context}: the next command printed {Show(next.Output)} instead of exactly its own output (first run: {Show(first.Output)}, exit {first.ExitCode}, timedOut {first.TimedOut}, interrupted {first.Interrupted})");
            Assert.Equal(0, next.ExitCode);
        }
        var info = await server.GetAsync($"/v1/sessions/{sessionId}", ProtocolJsonContext.Default.SessionInfo);
        Assert.True(info.Alive && !info.Busy, $"after {rounds} rounds the session is alive={info.Alive} busy={info.Busy}");
        Assert.False(server.HasExited, "the server died");
    }

    private static void CheckOwnOutputOnly(string output, string tag, int round, string context)
    {
        Assert.False(output.Contains('\u001e') || output.Contains("SBX"), $"{context}: the session's marker leaked into the output: {Show(output)}");
        var rest = output.Replace(tag, "");
        // Any other round's tag or probe would be another command's output.
        Assert.False(System.Text.RegularExpressions.Regex.IsMatch(rest, @"[RP]\d+[xy]"), $"{context}: another command's output: {Show(output)}");
    }

    private static string Show(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s.Length > 300 ? s[..300] + "…" : s)
        {
            sb.Append(c < ' ' ? $"\\x{(int)c:x2}" : c.ToString());
        }
        return sb.Append('"').ToString();
    }

    private static async Task<RunResult> Run(ServerProcess server, string sessionId, string command, double? timeout)
    {
        using var cts = new CancellationTokenSource(RequestLimit);
        var body = ServerProcess.Json(new RunRequest { Command = command, TimeoutSeconds = timeout }, ProtocolJsonContext.Default.RunRequest);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await server.Http.PostAsync($"/v1/sessions/{sessionId}/run", content, cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"a run did not answer within {RequestLimit.TotalSeconds} s (the session hangs): {command[..Math.Min(80, command.Length)]}");
            throw;
        }
        using (response)
        {
            await ServerProcess.Expect(response, HttpStatusCode.OK);
            return System.Text.Json.JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ProtocolJsonContext.Default.RunResult)!;
        }
    }
}

public sealed class BashTimeoutRaceTests(ServerFixture fixture, ITestOutputHelper log) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 120000)]
    public async Task Bash_TimeoutsAndInterruptsAtAnyInstant_LeaveTheSessionExact()
    {
        var id = (await fixture.Server.CreateSessionAsync(new CreateSessionRequest())).Id;
        await TimeoutRaces.RunAsync(fixture.Server, id, python: false, rounds: 60, log);
    }

    [Fact(Timeout = 120000)]
    public async Task Python_TimeoutsAndInterruptsAtAnyInstant_LeaveTheSessionExact()
    {
        var id = (await fixture.Server.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python })).Id;
        await TimeoutRaces.RunAsync(fixture.Server, id, python: true, rounds: 60, log);
    }

    [Fact(Timeout = 30000)]
    public async Task TimeoutTooSmallToMeanAnything_400_NamesTheLimit()
    {
        foreach (var bad in new[] { "0.0001", "0", "-1", "1e9" })
        {
            var p = await fixture.Server.PostProblemAsync("/v1/sessions/default/run", $$"""{"command":"echo x","timeoutSeconds":{{bad}}}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
            Assert.Contains("timeoutSeconds", p.Detail);
            await fixture.Server.PostProblemAsync("/v1/exec", $$"""{"argv":["true"],"timeoutSeconds":{{bad}}}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        }
        // The reproduction of issue 11: the session is not one step behind afterwards.
        var t = await fixture.Server.RunAsync("sleep 0.3; echo T1", timeout: 0.01);
        Assert.True(t.TimedOut);
        Assert.Equal("A\n", (await fixture.Server.RunAsync("echo A")).Output);
    }
}

public sealed class DashTimeoutRaceTests(DashFixture fixture, ITestOutputHelper log) : IClassFixture<DashFixture>
{
    [Fact(Timeout = 120000)]
    public async Task Dash_TimeoutsAndInterruptsAtAnyInstant_LeaveTheSessionExact()
    {
        var id = (await fixture.Server.CreateSessionAsync(new CreateSessionRequest())).Id;
        await TimeoutRaces.RunAsync(fixture.Server, id, python: false, rounds: 60, log);
    }
}

public sealed class BusyboxTimeoutRaceTests(BusyboxFixture fixture, ITestOutputHelper log) : IClassFixture<BusyboxFixture>
{
    [Fact(Timeout = 120000)]
    public async Task Busybox_TimeoutsAndInterruptsAtAnyInstant_LeaveTheSessionExact()
    {
        var id = (await fixture.Server.CreateSessionAsync(new CreateSessionRequest())).Id;
        await TimeoutRaces.RunAsync(fixture.Server, id, python: false, rounds: 60, log);
    }
}
