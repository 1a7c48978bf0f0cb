using System.Collections.Concurrent;
using System.Diagnostics;
using SandboxPS.Core;
using SandboxPS.Protocol;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// One Docker sandbox of ours, driven through SandboxClient, against the bare Engine API on the very
/// same container: exec round trips, two sessions in parallel, server memory, 100 MiB up and down.
/// </summary>
internal static class DockerSandboxPhase
{
    public static async Task RunAsync(BenchContext ctx, CancellationToken ct)
    {
        var r = ctx.Results;
        Sandbox? sandbox = null;
        SandboxClient? client = null;
        string? containerId = null;
        int? serverPid = null;
        try
        {
            try
            {
                sandbox = await ctx.CreateSandboxAsync("docker", s => s.MaxSessions = 64, ct).ConfigureAwait(false);
                await ctx.Manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
                client = ctx.Manager.GetClient(sandbox);
                containerId = await ctx.FindContainerIdAsync(sandbox, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                r.AddError("docker sandbox of ours", e);
                client = null;
                // The baselines still run, on a bare container of the same image.
                containerId = await ctx.CreateContainerAsync(["sleep", "3600"], ct).ConfigureAwait(false);
                await ctx.Engine.StartContainerAsync(containerId, ct).ConfigureAwait(false);
            }

            if (client is not null)
            {
                await ctx.StepAsync("server_idle_rss", async () =>
                {
                    var (serving, init) = await ctx.FindContainerServerPidsAsync(containerId, ct).ConfigureAwait(false);
                    serverPid = serving;
                    r.Set("server_idle_rss_mb", BenchContext.Mb(ProcInfo.ReadRssBytes(serving)), 2);
                    r.Set("server_idle_pss_mb", BenchContext.Mb(ProcInfo.ReadPssBytes(serving)), 2);
                    if (init is { } initPid)
                    {
                        // The PID-1 reaper the server forks from: RSS counts pages it shares with the
                        // serving child; PSS splits them, so the two PSS values add up honestly.
                        r.Set("server_init_rss_mb", BenchContext.Mb(ProcInfo.ReadRssBytes(initPid)), 2);
                        r.Set("server_init_pss_mb", BenchContext.Mb(ProcInfo.ReadPssBytes(initPid)), 2);
                    }
                }, ct).ConfigureAwait(false);
            }

            await ctx.StepAsync("exec", () => ExecAsync(ctx, client, sandbox?.Endpoint, containerId, ct), ct).ConfigureAwait(false);
            if (client is not null && ctx.Options.Diagnostics)
            {
                await ctx.StepAsync("diag_exec_unix", () => UnixExecAsync(ctx, ct), ct).ConfigureAwait(false);
            }
            if (client is not null)
            {
                await ctx.StepAsync("parallel_sessions", () => ParallelSessionsAsync(ctx, client, ct), ct).ConfigureAwait(false);
                await ctx.StepAsync("server_rss_50_sessions", () => FiftySessionsAsync(ctx, client, containerId, serverPid, ct), ct).ConfigureAwait(false);
            }
            await ctx.StepAsync("upload/download", () => TransferPhase.RunAsync(ctx, client, containerId, serverPid, ct), ct).ConfigureAwait(false);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            if (sandbox is not null)
            {
                await ctx.StepAsync("remove docker sandbox", () => ctx.RemoveSandboxAsync(sandbox, cleanup.Token), cleanup.Token).ConfigureAwait(false);
            }
            else if (containerId is not null)
            {
                await ctx.StepAsync("remove container", () => ctx.RemoveContainerAsync(containerId, cleanup.Token), cleanup.Token).ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecAsync(BenchContext ctx, SandboxClient? client, string? endpoint, string containerId, CancellationToken ct)
    {
        var session = new Samples();
        var oneShot = new Samples();
        var docker = new Samples();
        var health = new Samples();
        using var raw = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var contenders = new List<Contender>
        {
            new("docker_exec", docker, async c => Expect0(await ctx.Engine.ExecAsync(containerId, ["true"], c).ConfigureAwait(false), "docker exec true")),
        };
        if (client is not null)
        {
            var run = new RunRequest { Command = "true" };
            var exec = new ExecRequest { Argv = ["true"] };
            contenders.Add(new("exec", session, async c => Expect0((await client.RunAsync(null, run, c).ConfigureAwait(false)).ExitCode, "session run true")));
            contenders.Add(new("server_exec", oneShot, async c => Expect0((await client.ExecAsync(exec, c).ConfigureAwait(false)).ExitCode, "one-shot exec true")));
            if (ctx.Options.Diagnostics && endpoint?.StartsWith("http", StringComparison.Ordinal) == true)
            {
                // Transport alone: HTTP round trip to /health through the published port, no session work.
                var url = endpoint.TrimEnd('/') + "/health";
                contenders.Add(new("diag_health_rtt", health, async c =>
                {
                    using var response = await raw.GetAsync(url, c).ConfigureAwait(false);
                    response.EnsureSuccessStatusCode();
                }));
            }
        }
        // Blocks of 5: the engine finishes an exec's bookkeeping after it answers, so a call right
        // after a docker exec competes with it for the 2 cores; blocks keep that to one call in 5.
        var reps = ctx.Options.ExecReps / 5;
        await Measure.RoundsAsync(ctx.Results, warmup: 1, reps, block: 5, ct, [.. contenders]).ConfigureAwait(false);
        SetIfAny(ctx.Results, "docker_exec", docker);
        SetIfAny(ctx.Results, "exec", session);
        SetIfAny(ctx.Results, "server_exec", oneShot);
        SetIfAny(ctx.Results, "diag_health_rtt", health);
    }

    /// <summary>The same session round trip on a sandbox reached through a unix socket (network none): no docker-proxy.</summary>
    private static async Task UnixExecAsync(BenchContext ctx, CancellationToken ct)
    {
        var sandbox = await ctx.CreateSandboxAsync("docker", s => s.NetworkMode = "none", ct).ConfigureAwait(false);
        try
        {
            await ctx.Manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            var client = ctx.Manager.GetClient(sandbox);
            var run = new RunRequest { Command = "true" };
            var samples = new Samples();
            await Measure.RoundsAsync(ctx.Results, warmup: 5, ctx.Options.ExecReps, block: 1, ct,
                new Contender("diag_exec_unix", samples, async c => Expect0((await client.RunAsync(null, run, c).ConfigureAwait(false)).ExitCode, "true over unix socket"))).ConfigureAwait(false);
            SetIfAny(ctx.Results, "diag_exec_unix", samples);
            ctx.Results.SetText("diag_exec_unix_endpoint", sandbox.Endpoint?.Split(':')[0] ?? "none");
            await TransferPhase.DiagnoseAsync(ctx, client, "unix", ct).ConfigureAwait(false);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await ctx.RemoveSandboxAsync(sandbox, cleanup.Token).ConfigureAwait(false);
        }
    }

    private static async Task ParallelSessionsAsync(BenchContext ctx, SandboxClient client, CancellationToken ct)
    {
        var a = await client.CreateSessionAsync(new CreateSessionRequest(), ct).ConfigureAwait(false);
        var b = await client.CreateSessionAsync(new CreateSessionRequest(), ct).ConfigureAwait(false);
        try
        {
            var seconds = new Samples();
            var sleep = new RunRequest { Command = "sleep 1" };
            var warm = new RunRequest { Command = "true" };
            await Task.WhenAll(client.RunAsync(a.Id, warm, ct), client.RunAsync(b.Id, warm, ct)).ConfigureAwait(false);
            for (var i = 0; i < ctx.Options.ParallelReps; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var results = await Task.WhenAll(client.RunAsync(a.Id, sleep, ct), client.RunAsync(b.Id, sleep, ct)).ConfigureAwait(false);
                seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                foreach (var result in results)
                {
                    Expect0(result.ExitCode, "sleep 1");
                }
            }
            ctx.Results.Set("parallel_sessions_s", seconds.Median);
            ctx.Results.Set("parallel_sessions_p95_s", seconds.P95);
            ctx.Results.Set("parallel_sessions_ideal_s", 1.0);
        }
        finally
        {
            await DeleteQuietlyAsync(client, [a.Id, b.Id]).ConfigureAwait(false);
        }
    }

    private static async Task FiftySessionsAsync(BenchContext ctx, SandboxClient client, string containerId, int? serverPid, CancellationToken ct)
    {
        var ids = new ConcurrentBag<string>();
        try
        {
            var run = new RunRequest { Command = "true" };
            await Parallel.ForEachAsync(Enumerable.Range(0, 50), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
                async (_, c) =>
                {
                    var s = await client.CreateSessionAsync(new CreateSessionRequest(), c).ConfigureAwait(false);
                    ids.Add(s.Id);
                    Expect0((await client.RunAsync(s.Id, run, c).ConfigureAwait(false)).ExitCode, "true in a new session");
                }).ConfigureAwait(false);
            var pid = serverPid ?? (await ctx.FindContainerServerPidsAsync(containerId, ct).ConfigureAwait(false)).Serving;
            ctx.Results.Set("server_rss_50_sessions_mb", BenchContext.Mb(ProcInfo.ReadRssBytes(pid)), 2);
            // The whole container: server plus 50 shells.
            var (_, rootPid) = await ctx.Engine.GetRunStateAsync(containerId, ct).ConfigureAwait(false);
            ctx.Results.Set("sandbox_rss_50_sessions_mb", BenchContext.Mb(ProcInfo.TreeRssBytes(rootPid)), 2);
        }
        finally
        {
            await DeleteQuietlyAsync(client, [.. ids]).ConfigureAwait(false);
        }
    }

    internal static async Task DeleteQuietlyAsync(SandboxClient client, IReadOnlyCollection<string> ids)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cts.Token }, async (id, c) =>
        {
            try
            {
                await client.DeleteSessionAsync(id, c).ConfigureAwait(false);
            }
            catch (SandboxException)
            {
                // The sandbox goes away at the end of the phase anyway.
            }
        }).ConfigureAwait(false);
    }

    internal static void SetIfAny(Results results, string name, Samples samples, int decimals = 3)
    {
        if (samples.Count > 0)
        {
            results.SetSamples(name, "ms", samples, decimals);
        }
    }

    internal static void Expect0(int exitCode, string what)
    {
        if (exitCode != 0)
        {
            throw new BenchException($"{what} exited with {exitCode}, expected 0");
        }
    }
}
