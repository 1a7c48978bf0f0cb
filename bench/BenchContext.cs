using System.Collections.Concurrent;
using SandboxPS.Bench.Engine;
using SandboxPS.Core;

namespace SandboxPS.Bench;

/// <summary>
/// One bench run: its options, its id (every resource is labelled with it), the engine client of the
/// baselines, the results, and a record of everything created so the end of the run removes exactly
/// that, whatever failed on the way.
/// </summary>
internal sealed class BenchContext : IAsyncDisposable
{
    public const string TestLabel = "org.sandboxps.test";
    public const string BusyboxImage = "sandboxps/busybox:1.35";

    private readonly ConcurrentDictionary<string, Sandbox> _sandboxes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _containers = new(StringComparer.Ordinal);

    public BenchContext(BenchOptions options, string tempDir)
    {
        Options = options;
        TempDir = tempDir;
        BaselineLabels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TestLabel] = RunId,
            ["org.sandboxps.bench"] = "baseline",
        };
    }

    public BenchOptions Options { get; }

    /// <summary><c>bench-&lt;guid&gt;</c>: the value of <see cref="TestLabel"/> on everything this run creates.</summary>
    public string RunId { get; } = "bench-" + Guid.NewGuid().ToString("N");

    public string TempDir { get; }

    public Results Results { get; } = new();

    public EngineClient Engine { get; } = new();

    public SandboxManager Manager => SandboxManager.Default;

    public IReadOnlyDictionary<string, string> BaselineLabels { get; }

    /// <summary>Creates a sandbox of ours (labelled with the run id, TTL as a safety net) and records it for cleanup.</summary>
    public async Task<Sandbox> CreateSandboxAsync(string provider, Action<SandboxSpec>? configure, CancellationToken ct)
    {
        var spec = new SandboxSpec
        {
            Image = provider == "docker" ? BusyboxImage : null,
            TimeToLive = TimeSpan.FromMinutes(30),
        };
        spec.Labels[TestLabel] = RunId;
        configure?.Invoke(spec);
        var sandbox = await Manager.CreateAsync(provider, spec, ct).ConfigureAwait(false);
        _sandboxes[sandbox.Id] = sandbox;
        return sandbox;
    }

    public async Task RemoveSandboxAsync(Sandbox sandbox, CancellationToken ct)
    {
        await Manager.RemoveAsync(sandbox, ct).ConfigureAwait(false);
        _sandboxes.TryRemove(sandbox.Id, out _);
    }

    /// <summary>Creates a bare baseline container (labelled with the run id) and records it for cleanup.</summary>
    public async Task<string> CreateContainerAsync(IReadOnlyList<string> cmd, CancellationToken ct,
                                                   Action<System.Text.Json.Nodes.JsonObject>? customize = null)
    {
        var id = await Engine.CreateContainerAsync(BusyboxImage, cmd, BaselineLabels, ct, customize).ConfigureAwait(false);
        _containers[id] = 0;
        return id;
    }

    public async Task RemoveContainerAsync(string id, CancellationToken ct)
    {
        await Engine.RemoveContainerAsync(id, ct).ConfigureAwait(false);
        _containers.TryRemove(id, out _);
    }

    /// <summary>The engine's container id of a Docker sandbox of ours.</summary>
    public async Task<string> FindContainerIdAsync(Sandbox sandbox, CancellationToken ct)
    {
        foreach (var candidate in new[] { sandbox.Id, sandbox.Name })
        {
            using var doc = await Engine.InspectContainerAsync(candidate, ct).ConfigureAwait(false);
            if (doc is not null)
            {
                return doc.RootElement.GetProperty("Id").GetString()!;
            }
        }
        var ids = await Engine.ListContainerIdsAsync($"{SandboxLabels.Id}={sandbox.Id}", ct).ConfigureAwait(false);
        return ids.Count == 1 ? ids[0]
            : throw new BenchException($"no single container carries {SandboxLabels.Id}={sandbox.Id} (found {ids.Count})");
    }

    /// <summary>
    /// Host pids of the sandboxps-server processes of a container: the one that serves, and the
    /// PID-1 init it forked from (null when the server is not split).
    /// </summary>
    public async Task<(int Serving, int? Init)> FindContainerServerPidsAsync(string containerId, CancellationToken ct)
    {
        var (running, pid) = await Engine.GetRunStateAsync(containerId, ct).ConfigureAwait(false);
        if (!running || pid <= 0)
        {
            throw new BenchException($"container {EngineClient.Short(containerId)} is not running");
        }
        var serving = ProcInfo.FindServingProcess(pid)
            ?? throw new BenchException($"no {ProcInfo.ServerComm}* process under host pid {pid} (comm '{ProcInfo.ReadComm(pid)}')");
        return (serving, serving != pid && ProcInfo.IsServer(pid) ? pid : null);
    }

    /// <summary>
    /// Runs one measurement; a failure is recorded as an error of the run and the run goes on.
    /// Cancellation of the phase propagates.
    /// </summary>
    public async Task StepAsync(string name, Func<Task> step, CancellationToken ct)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await step().ConfigureAwait(false);
            Console.Error.WriteLine($"           {name}: {Measure.ElapsedMs(start) / 1000:0.0}s");
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Results.AddError(name, e);
        }
    }

    public static double Mb(long? bytes) => bytes is { } b ? b / 1024.0 / 1024.0 : double.NaN;

    /// <summary>Removes what this run created and is still recorded, then sweeps the engine for the run's label.</summary>
    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        await Task.WhenAll(_sandboxes.Values.Select(async s =>
        {
            try
            {
                await Manager.RemoveAsync(s, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"cleanup: removing sandbox {s.Name} failed: {e.Message}");
            }
        })).ConfigureAwait(false);
        await Task.WhenAll(_containers.Keys.Select(async id =>
        {
            try
            {
                await Engine.RemoveContainerAsync(id, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"cleanup: removing container {EngineClient.Short(id)} failed: {e.Message}");
            }
        })).ConfigureAwait(false);
        try
        {
            var filter = new Dictionary<string, string>(StringComparer.Ordinal) { [TestLabel] = RunId };
            await foreach (var s in Manager.ListAsync("process", filter, ct).ConfigureAwait(false))
            {
                Console.Error.WriteLine($"cleanup: removing leftover sandbox {s.Name}");
                await Manager.RemoveAsync(s, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"cleanup: sweeping process sandboxes labelled {TestLabel}={RunId} failed: {e.Message}");
        }
        try
        {
            if (await Engine.PingAsync(ct).ConfigureAwait(false))
            {
                var left = await Engine.ListContainerIdsAsync($"{TestLabel}={RunId}", ct).ConfigureAwait(false);
                foreach (var id in left)
                {
                    Console.Error.WriteLine($"cleanup: removing leftover container {EngineClient.Short(id)}");
                    await Engine.RemoveContainerAsync(id, ct).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"cleanup: sweeping containers labelled {TestLabel}={RunId} failed: {e.Message}");
        }
        Engine.Dispose();
    }
}
