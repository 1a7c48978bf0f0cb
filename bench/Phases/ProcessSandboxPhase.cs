using System.Diagnostics;
using SandboxPS.Core;
using SandboxPS.Protocol;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// One Process-provider sandbox: a session round trip against spawning /bin/true, the server's
/// memory, and 200 concurrent sessions of 10 commands each on one server.
/// </summary>
internal static class ProcessSandboxPhase
{
    public const int Sessions = 200;
    public const int CommandsPerSession = 10;

    public static async Task RunAsync(BenchContext ctx, CancellationToken ct)
    {
        var r = ctx.Results;
        Sandbox? sandbox = null;
        SandboxClient? client = null;
        try
        {
            try
            {
                sandbox = await ctx.CreateSandboxAsync("process", s => s.MaxSessions = Sessions + 16, ct).ConfigureAwait(false);
                await ctx.Manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                client = ctx.Manager.GetClient(sandbox);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                r.AddError("process sandbox of ours", e);
                client = null;
            }

            int? serverPid = null;
            if (client is not null)
            {
                await ctx.StepAsync("server_process_idle_rss", async () =>
                {
                    var info = await client.GetInfoAsync(ct).ConfigureAwait(false);
                    var comm = ProcInfo.ReadComm(info.Pid);
                    if (!ProcInfo.IsServer(info.Pid))
                    {
                        throw new BenchException($"the server reports pid {info.Pid}, but that process is '{comm ?? "gone"}'");
                    }
                    serverPid = info.Pid;
                    r.Set("server_process_idle_rss_mb", BenchContext.Mb(ProcInfo.ReadRssBytes(info.Pid)), 2);
                    r.Set("server_process_idle_pss_mb", BenchContext.Mb(ProcInfo.ReadPssBytes(info.Pid)), 2);
                }, ct).ConfigureAwait(false);
            }

            await ctx.StepAsync("exec_process", () => ExecAsync(ctx, client, sandbox?.Endpoint, ct), ct).ConfigureAwait(false);
            if (client is not null)
            {
                await ctx.StepAsync("sessions_200", () => TwoHundredSessionsAsync(ctx, client, serverPid, ct), ct).ConfigureAwait(false);
                if (ctx.Options.Diagnostics)
                {
                    await ctx.StepAsync("diag transfer (process)", () => TransferPhase.DiagnoseAsync(ctx, client, "process", ct), ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (sandbox is not null)
            {
                using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await ctx.StepAsync("remove process sandbox", () => ctx.RemoveSandboxAsync(sandbox, cleanup.Token), cleanup.Token).ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecAsync(BenchContext ctx, SandboxClient? client, string? endpoint, CancellationToken ct)
    {
        var ours = new Samples();
        var spawn = new Samples();
        var health = new Samples();
        using var raw = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var contenders = new List<Contender>
        {
            new("spawn_true", spawn, _ =>
            {
                using var process = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })
                    ?? throw new BenchException("Process.Start(/bin/true) returned no process");
                process.WaitForExit();
                DockerSandboxPhase.Expect0(process.ExitCode, "/bin/true");
                return Task.CompletedTask;
            }),
        };
        if (client is not null)
        {
            var run = new RunRequest { Command = "true" };
            contenders.Add(new("exec_process", ours, async c => DockerSandboxPhase.Expect0((await client.RunAsync(null, run, c).ConfigureAwait(false)).ExitCode, "session run true")));
            if (ctx.Options.Diagnostics && endpoint?.StartsWith("http", StringComparison.Ordinal) == true)
            {
                var url = endpoint.TrimEnd('/') + "/health";
                contenders.Add(new("diag_health_rtt_process", health, async c =>
                {
                    using var response = await raw.GetAsync(url, c).ConfigureAwait(false);
                    response.EnsureSuccessStatusCode();
                }));
            }
        }
        await Measure.RoundsAsync(ctx.Results, warmup: 2, ctx.Options.ProcessExecReps / 10, block: 10, ct, [.. contenders]).ConfigureAwait(false);
        DockerSandboxPhase.SetIfAny(ctx.Results, "spawn_true", spawn);
        DockerSandboxPhase.SetIfAny(ctx.Results, "exec_process", ours);
        DockerSandboxPhase.SetIfAny(ctx.Results, "diag_health_rtt_process", health);
    }

    private static async Task TwoHundredSessionsAsync(BenchContext ctx, SandboxClient client, int? serverPid, CancellationToken ct)
    {
        var ids = new string?[Sessions];
        try
        {
            var first = new RunRequest { Command = "true" };
            var open = Stopwatch.GetTimestamp();
            // Open all sessions at once, each proven usable by a first command (the shell has started).
            await Task.WhenAll(Enumerable.Range(0, Sessions).Select(async i =>
            {
                ids[i] = (await client.CreateSessionAsync(new CreateSessionRequest(), ct).ConfigureAwait(false)).Id;
                DockerSandboxPhase.Expect0((await client.RunAsync(ids[i], first, ct).ConfigureAwait(false)).ExitCode, "first command of a session");
            })).ConfigureAwait(false);
            var openSeconds = Stopwatch.GetElapsedTime(open).TotalSeconds;

            var latency = new Samples();
            var start = Stopwatch.GetTimestamp();
            await Task.WhenAll(ids.Select(async id =>
            {
                for (var k = 0; k < CommandsPerSession; k++)
                {
                    var request = new RunRequest { Command = $"echo {k}" };
                    var t = Stopwatch.GetTimestamp();
                    var result = await client.RunAsync(id, request, ct).ConfigureAwait(false);
                    latency.Add(Measure.ElapsedMs(t));
                    DockerSandboxPhase.Expect0(result.ExitCode, "echo in one of 200 sessions");
                    if (result.Output.Trim() != k.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    {
                        throw new BenchException($"session {id} printed '{result.Output.Trim()}' for 'echo {k}'");
                    }
                }
            })).ConfigureAwait(false);
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

            var r = ctx.Results;
            r.Set("sessions_200_open_s", openSeconds);
            r.Set("sessions_200_s", seconds);
            r.Set("sessions_200_cmds_per_s", Sessions * CommandsPerSession / seconds, 1);
            r.SetSamples("sessions_200_run", "ms", latency);
            if (serverPid is { } pid)
            {
                r.Set("server_rss_200_sessions_mb", BenchContext.Mb(ProcInfo.ReadRssBytes(pid)), 2);
            }
        }
        finally
        {
            await DockerSandboxPhase.DeleteQuietlyAsync(client, ids.OfType<string>().ToList()).ConfigureAwait(false);
        }
    }
}
