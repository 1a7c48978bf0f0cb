using SandboxPS.Protocol;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// 20 at once, start to finish: our sandboxes created → Ready → one command → removed, against the
/// same 20 containers through the bare Engine API (create, start, one exec, remove).
/// </summary>
internal static class FanoutPhase
{
    public const int Width = 20;

    public static async Task RunAsync(BenchContext ctx, CancellationToken ct)
    {
        var ours = new Samples();
        var docker = new Samples();
        var run = new RunRequest { Command = "true" };
        var contenders = new[]
        {
            new Contender("docker_fanout20", docker, c => Task.WhenAll(Enumerable.Range(0, Width).Select(async _ =>
            {
                var id = await ctx.CreateContainerAsync(["sleep", "60"], c).ConfigureAwait(false);
                await ctx.Engine.StartContainerAsync(id, c).ConfigureAwait(false);
                DockerSandboxPhase.Expect0(await ctx.Engine.ExecAsync(id, ["true"], c).ConfigureAwait(false), "docker exec true");
                await ctx.RemoveContainerAsync(id, c).ConfigureAwait(false);
            }))),
            new Contender("fanout20", ours, c => Task.WhenAll(Enumerable.Range(0, Width).Select(async _ =>
            {
                var sandbox = await ctx.CreateSandboxAsync("docker", null, c).ConfigureAwait(false);
                await ctx.Manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(120), c).ConfigureAwait(false);
                var result = await ctx.Manager.GetClient(sandbox).RunAsync(null, run, c).ConfigureAwait(false);
                DockerSandboxPhase.Expect0(result.ExitCode, "true in a fanned-out sandbox");
                await ctx.RemoveSandboxAsync(sandbox, c).ConfigureAwait(false);
            }))),
        };
        try
        {
            await Measure.RoundsAsync(ctx.Results, warmup: 0, ctx.Options.FanoutReps, block: 1, ct, contenders).ConfigureAwait(false);
        }
        finally
        {
            // Seconds; a failed side leaves its key out, and the error says why.
            if (docker.Count > 0)
            {
                ctx.Results.Set("docker_fanout20_s", docker.Median / 1000);
                ctx.Results.Set("docker_fanout20_p95_s", docker.P95 / 1000);
            }
            if (ours.Count > 0)
            {
                ctx.Results.Set("fanout20_s", ours.Median / 1000);
                ctx.Results.Set("fanout20_p95_s", ours.P95 / 1000);
            }
            ctx.Results.Set("fanout20_n", ours.Count, 0);
        }
    }
}
