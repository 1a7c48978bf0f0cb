using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using SandboxPS.Protocol;
using Xunit.Abstractions;

namespace SandboxPS.Server.Tests;

/// <summary>
/// Measurements reported in the test output (dotnet test --logger "console;verbosity=detailed"),
/// not asserted beyond hang and sanity guards: binary size, start to first health, idle RSS, RSS
/// with 50 sessions, and the round trip of `true` in a session.
/// </summary>
public sealed class MetricsTests(ITestOutputHelper output)
{
    [Fact(Timeout = 120000)]
    public async Task Measure_StartupMemoryAndRoundTrip()
    {
        var size = new FileInfo(ServerProcess.BinaryPath).Length;
        output.WriteLine($"binary size: {size / 1024.0 / 1024.0:F1} MiB ({size} bytes)");

        var startups = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            await using var s = await ServerProcess.StartAsync(["--listen", "127.0.0.1:0"]);
            using var anon = new HttpClient { BaseAddress = new Uri(s.Url) };
            using var h = await anon.GetAsync("/health");
            startups.Add(clock.Elapsed.TotalMilliseconds);
        }
        output.WriteLine($"start to first /health answer: median {Median(startups):F1} ms (runs: {string.Join(", ", startups.Select(x => x.ToString("F1")))})");

        await using var server = await ServerProcess.StartAsync(["--listen", "127.0.0.1:0", "--max-sessions", "64"]);
        await server.GetAsync("/v1/info", ProtocolJsonContext.Default.InfoResponse);
        await Task.Delay(500);
        var idle = server.RssKb();
        output.WriteLine($"idle RSS (after one request): {idle / 1024.0:F1} MiB");

        await server.RunAsync("true");
        var rtts = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            var clock = Stopwatch.StartNew();
            var r = await server.RunAsync("true");
            rtts.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(0, r.ExitCode);
        }
        rtts.Sort();
        output.WriteLine($"round trip of `true` in a session over HTTP (200 runs): median {Median(rtts):F3} ms, p90 {rtts[179]:F3} ms, min {rtts[0]:F3} ms");

        var execs = new List<double>();
        for (int i = 0; i < 50; i++)
        {
            var clock = Stopwatch.StartNew();
            await server.ExecAsync(new ExecRequest { Argv = ["true"] });
            execs.Add(clock.Elapsed.TotalMilliseconds);
        }
        output.WriteLine($"one-shot exec of `true` (50 runs): median {Median(execs):F2} ms");

        var created = new List<double>();
        for (int i = 0; i < 50; i++)
        {
            var clock = Stopwatch.StartNew();
            await server.CreateSessionAsync(new CreateSessionRequest());
            created.Add(clock.Elapsed.TotalMilliseconds);
        }
        await Task.Delay(500);
        var with50 = server.RssKb();
        output.WriteLine($"session create: median {Median(created):F1} ms; server RSS with 50 shell sessions (+default): {with50 / 1024.0:F1} MiB");
        Assert.True(with50 < 200 * 1024, "sanity: RSS with 50 sessions");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
