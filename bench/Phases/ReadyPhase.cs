using SandboxPS.Core;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// Create → Ready of a Docker sandbox of ours against the bare engine create + start of the same
/// image until the engine reports it running; and create → Ready of a Process sandbox.
/// </summary>
internal static class ReadyPhase
{
    public static async Task RunAsync(BenchContext ctx, CancellationToken ct)
    {
        var ours = new Samples();
        var docker = new Samples();
        var process = new Samples();
        var createPart = new Samples();
        Sandbox? current = null;
        string? container = null;
        async Task RemoveOursAsync(CancellationToken c)
        {
            if (current is not null)
            {
                var sandbox = current;
                current = null;
                await ctx.RemoveSandboxAsync(sandbox, c).ConfigureAwait(false);
            }
        }
        async Task RemoveContainerAsync(CancellationToken c)
        {
            if (container is not null)
            {
                var id = container;
                container = null;
                await ctx.RemoveContainerAsync(id, c).ConfigureAwait(false);
            }
        }
        using var diagnostics = new ReadyDiagnostics(ctx);
        try
        {
            var contenders = new List<Contender>
            {
                new("docker_start", docker, async c =>
                {
                    container = await ctx.CreateContainerAsync(["sleep", "60"], c).ConfigureAwait(false);
                    await ctx.Engine.StartContainerAsync(container, c).ConfigureAwait(false);
                    while (!(await ctx.Engine.GetRunStateAsync(container, c).ConfigureAwait(false)).Running)
                    {
                        await Task.Delay(1, c).ConfigureAwait(false);
                    }
                }, RemoveContainerAsync),
                new("ready", ours, async c =>
                {
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    current = await ctx.CreateSandboxAsync("docker", null, c).ConfigureAwait(false);
                    createPart.Add(Measure.ElapsedMs(start));
                    await ctx.Manager.WaitReadyAsync(current, TimeSpan.FromSeconds(60), c).ConfigureAwait(false);
                }, RemoveOursAsync),
                new("process_ready", process, async c =>
                {
                    current = await ctx.CreateSandboxAsync("process", null, c).ConfigureAwait(false);
                    await ctx.Manager.WaitReadyAsync(current, TimeSpan.FromSeconds(30), c).ConfigureAwait(false);
                }, RemoveOursAsync),
            };
            if (ctx.Options.Diagnostics)
            {
                contenders.AddRange(diagnostics.Contenders());
            }
            await Measure.RoundsAsync(ctx.Results, warmup: 1, ctx.Options.ReadyReps, block: 1, ct, [.. contenders]).ConfigureAwait(false);
        }
        finally
        {
            DockerSandboxPhase.SetIfAny(ctx.Results, "ready", ours, 1);
            // Of which CreateAsync (the rest is WaitReadyAsync); the first, warm-up, call is dropped.
            DockerSandboxPhase.SetIfAny(ctx.Results, "diag_ready_create", createPart.WithoutFirst(1), 1);
            DockerSandboxPhase.SetIfAny(ctx.Results, "docker_start", docker, 1);
            DockerSandboxPhase.SetIfAny(ctx.Results, "process_ready", process, 1);
            diagnostics.Record(ctx.Results);
        }
    }
}
