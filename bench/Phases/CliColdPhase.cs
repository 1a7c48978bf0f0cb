using System.Diagnostics;
using SandboxPS.Core;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// The CLI's cold paths, one process per command as a user runs them: <c>sandboxps exec NAME -- true</c>
/// on a Docker sandbox and <c>sandboxps new --provider docker</c>. With <c>--baseline-cli PATH</c> (a
/// build of another commit), the same commands of that CLI run interleaved in the same run, and the
/// ratios ours/baseline are reported (cli_exec_ratio, cli_new_ratio; within 1.1 is the target).
/// </summary>
internal static class CliColdPhase
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(BenchContext ctx, CancellationToken ct)
    {
        var ours = ctx.Options.Cli ?? DefaultCli();
        var contenders = new List<Contender>();
        var samples = new Dictionary<string, Samples>();
        var created = new List<string>();
        var serial = 0;
        string target = "bench-cli-" + ctx.RunId[^8..];
        await RunCliAsync(ours, ["new", "--provider", "docker", "--image", BenchContext.BusyboxImage, "--name", target,
                                 "--ttl", "30m", "--label", BenchContext.TestLabel + "=" + ctx.RunId], ct).ConfigureAwait(false);
        created.Add(target);
        try
        {
            foreach (var (suffix, cli) in new[] { ("", ours), ("_base", ctx.Options.BaselineCli) })
            {
                if (cli is null)
                {
                    continue;
                }
                var exec = samples["cli_exec" + suffix] = new Samples();
                var create = samples["cli_new" + suffix] = new Samples();
                contenders.Add(new("cli_exec" + suffix, exec, c => RunCliAsync(cli, ["exec", target, "--", "true"], c)));
                string? made = null;
                contenders.Add(new("cli_new" + suffix, create, async c =>
                {
                    made = $"bench-cli-{ctx.RunId[^8..]}-{Interlocked.Increment(ref serial)}";
                    created.Add(made);
                    await RunCliAsync(cli, ["new", "--provider", "docker", "--image", BenchContext.BusyboxImage, "--name", made,
                                            "--ttl", "30m", "--label", BenchContext.TestLabel + "=" + ctx.RunId], c).ConfigureAwait(false);
                }, async c =>
                {
                    if (made is not null)
                    {
                        await RemoveQuietlyAsync(ctx, made, c).ConfigureAwait(false);
                        created.Remove(made);
                        made = null;
                    }
                }));
            }
            await Measure.RoundsAsync(ctx.Results, warmup: 1, ctx.Options.CliReps, block: 1, ct, [.. contenders]).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (name, s) in samples)
            {
                DockerSandboxPhase.SetIfAny(ctx.Results, name, s, 1);
            }
            foreach (var name in created.ToList())
            {
                await RemoveQuietlyAsync(ctx, name, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The CLI built next to this bench (Release or Debug).</summary>
    private static string DefaultCli()
    {
        var root = AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(root); dir is not null; dir = dir.Parent)
        {
            foreach (var configuration in new[] { "Release", "Debug" })
            {
                var candidate = Path.Combine(dir.FullName, "src", "SandboxPS.Cli", "bin", configuration, "net8.0", "sandboxps");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        throw new BenchException("cli: no built sandboxps found under src/SandboxPS.Cli/bin; build it or pass --cli PATH");
    }

    private static async Task RemoveQuietlyAsync(BenchContext ctx, string name, CancellationToken ct)
    {
        try
        {
            var sandbox = await ctx.Manager.ResolveAsync(name, "docker", ct).ConfigureAwait(false);
            await ctx.RemoveSandboxAsync(sandbox, ct).ConfigureAwait(false);
        }
        catch (SandboxException e) when (e.Kind == SandboxErrorKind.NotFound)
        {
        }
    }

    /// <summary>Runs the CLI once, output discarded; a non-zero exit or <see cref="CommandTimeout"/> fails the sample.</summary>
    private static async Task RunCliAsync(string cli, IReadOnlyList<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(cli) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new BenchException($"cli: could not start {cli}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new BenchException($"cli: '{string.Join(' ', args)}' did not finish within {CommandTimeout.TotalSeconds:0} s");
        }
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new BenchException($"cli: '{string.Join(' ', args)}' exited {process.ExitCode}: {stderr.Result.Trim()}");
        }
    }
}
