using System.Diagnostics;
using SandboxPS.Core.Providers.Kit;

namespace SandboxPS.Cli.Tests;

/// <summary>
/// Issue 11 item 8: the creator is killed with SIGKILL at many points of <c>sandboxps new</c>; with no
/// further SandboxPS command, no server runs past its TTL and nothing is left shortly after it.
/// </summary>
public sealed class OrphanTests : IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);

    /// <summary>The bound of the whole wait: TTL, the launcher's grace, and slack for a loaded machine.</summary>
    private static readonly TimeSpan LeftoversDeadline = Ttl + ManagedSandbox.LeftoverGrace + TimeSpan.FromSeconds(40);

    private readonly CliHarness _cli = new();

    public Task InitializeAsync() => _cli.InitializeAsync();
    public Task DisposeAsync() => _cli.DisposeAsync();

    [Fact(Timeout = 180_000)]
    public async Task KillNine_OfTheCreator_AtAnyPointOfNew_LeavesNothing_WithNoFurtherCommand()
    {
        // Kill delays after the start of `new`: before the CLI has started up, while it writes the record,
        // while the server launches, while it waits for readiness, and after it printed the id.
        int[] delaysMs = [0, 40, 90, 150, 220, 300, 450, 700, 1000, -1];
        var creators = new List<Task>();
        for (var i = 0; i < delaysMs.Length; i++)
        {
            var delay = delaysMs[i];
            var name = "orphan-" + i;
            creators.Add(Task.Run(async () =>
            {
                using var creator = Process.Start(_cli.StartInfo("new", "--name", name, "--ttl", "3s"))!;
                creator.StandardInput.Close();
                if (delay >= 0)
                {
                    await Task.Delay(delay);
                }
                else
                {
                    // After it printed the id: the sandbox is made and ready; the kill is of a finished create.
                    await creator.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                }
                try
                {
                    creator.Kill(); // SIGKILL: nothing of the creator's own cleanup runs
                }
                catch (InvalidOperationException)
                {
                    // It had already exited (the create finished first).
                }
                await creator.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }));
        }
        await Task.WhenAll(creators);
        var killed = Stopwatch.StartNew();

        // Nothing runs past its TTL: once every TTL is over (plus slack), no server of this state directory runs.
        List<string> servers;
        do
        {
            await Task.Delay(250);
            servers = Processes(comm => comm.StartsWith("sandboxps-serv", StringComparison.Ordinal));
        } while (servers.Count > 0 && killed.Elapsed < Ttl + TimeSpan.FromSeconds(30));
        Assert.True(servers.Count == 0, "servers still running well past their TTL: " + string.Join("; ", servers));

        // Nothing is left: no process, record or directory, with no further command.
        List<string> left;
        do
        {
            await Task.Delay(500);
            left = Leftovers();
        } while (left.Count > 0 && killed.Elapsed < LeftoversDeadline);
        Assert.True(left.Count == 0, $"left {LeftoversDeadline.TotalSeconds:0} s after the kills: " + string.Join("; ", left));
    }

    private List<string> Leftovers()
    {
        var left = Processes(_ => true);
        var records = Path.Combine(_cli.StateDir, "process");
        if (Directory.Exists(records))
        {
            left.AddRange(Directory.EnumerateFileSystemEntries(records).Where(p => !Path.GetFileName(p).StartsWith('.')).Select(p => "state: " + p));
        }
        return left;
    }

    /// <summary>Live processes whose command line names this test's state directory, filtered by their comm.</summary>
    private List<string> Processes(Func<string, bool> comm)
    {
        var found = new List<string>();
        foreach (var entry in _cli.Survivors())
        {
            var pid = entry[..entry.IndexOf(':')];
            try
            {
                if (comm(File.ReadAllText($"/proc/{pid}/comm").Trim()))
                {
                    found.Add(entry);
                }
            }
            catch (IOException)
            {
            }
        }
        return found;
    }
}
