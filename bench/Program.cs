using System.Diagnostics;
using SandboxPS.Bench;
using SandboxPS.Bench.Phases;

var (options, error, help) = BenchOptions.Parse(args);
if (help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
if (options is null)
{
    Console.Error.WriteLine($"bench: {error}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

// Process-provider sandboxes of this run live in their own state directory, so the run neither sees
// nor touches anyone else's. Set before SandboxManager.Default is first used.
var tempDir = Directory.CreateTempSubdirectory("sandboxps-bench-").FullName;
Environment.SetEnvironmentVariable("SANDBOXPS_STATE_DIR", Path.Combine(tempDir, "state"));

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

var started = Stopwatch.GetTimestamp();
var context = new BenchContext(options, tempDir);
var results = context.Results;
try
{
    await Machine.DescribeAsync(context, cts.Token);
    var phases = new (string Group, string Name, Func<BenchContext, CancellationToken, Task> Run)[]
    {
        ("docker", "docker sandbox: exec, parallel sessions, server RSS, upload/download", DockerSandboxPhase.RunAsync),
        ("process", "process sandbox: exec_process, sessions_200, server RSS", ProcessSandboxPhase.RunAsync),
        ("ready", "ready: create -> Ready vs engine create + start", ReadyPhase.RunAsync),
        ("fanout", "fanout20: 20 sandboxes vs 20 containers", FanoutPhase.RunAsync),
        ("cli", "cli: cold sandboxps exec / new --provider docker (vs --baseline-cli)", CliColdPhase.RunAsync),
    };
    foreach (var (group, name, run) in phases)
    {
        if (!options.Runs(group) || cts.IsCancellationRequested)
        {
            continue;
        }
        Console.Error.WriteLine($"[{Stopwatch.GetElapsedTime(started).TotalSeconds,6:0.0}s] {name}");
        // Every phase is bounded, so a hang shows up as an error in the report instead of a stuck run.
        using var phaseCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        phaseCts.CancelAfter(options.Quick ? TimeSpan.FromSeconds(120) : TimeSpan.FromMinutes(10));
        try
        {
            await run(context, phaseCts.Token);
        }
        catch (Exception e)
        {
            results.AddError(group, e);
        }
    }
}
finally
{
    Console.Error.WriteLine($"[{Stopwatch.GetElapsedTime(started).TotalSeconds,6:0.0}s] cleanup");
    await context.DisposeAsync();
    try
    {
        Directory.Delete(tempDir, recursive: true);
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"cleanup: could not delete {tempDir}: {e.Message}");
    }
}

results.DeriveRatios();
results.Set("bench_wall_s", Stopwatch.GetElapsedTime(started).TotalSeconds, 1);
Console.WriteLine();
Console.Write(Report.Table(results));
Console.WriteLine();
foreach (var e in results.Errors)
{
    Console.WriteLine($"error: {e}");
}
Console.WriteLine("BENCH " + results.ToJson());
return results.Errors.Count == 0 ? 0 : 1;
