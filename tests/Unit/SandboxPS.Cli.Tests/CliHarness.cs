using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SandboxPS.Core.Providers.Process;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace SandboxPS.Cli.Tests;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<JsonElement> JsonLines =>
        Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    public JsonElement Json => Assert.Single(JsonLines);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the built CLI (<c>dotnet sandboxps.dll</c>) as a child process with a private state directory.
/// Disposing removes every sandbox recorded there and checks that no process of theirs survives.
/// </summary>
public sealed class CliHarness : IAsyncLifetime
{
    public string StateDir { get; } = Path.Combine(Path.GetTempPath(), "sbx-cli-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string CliDll { get; } = Path.Combine(AppContext.BaseDirectory, "sandboxps.dll");

    /// <summary>DOCKER_HOST the CLI sees; by default a socket that does not exist.</summary>
    public string DockerHost { get; set; } = "unix:///nonexistent/sandboxps-tests/docker.sock";

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(StateDir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        var provider = new ProcessSandboxProvider(StateDir);
        await foreach (var sandbox in provider.ListAsync())
        {
            await provider.RemoveAsync(sandbox.Id);
        }
        var survivors = Survivors();
        try
        {
            Directory.Delete(StateDir, recursive: true);
        }
        catch (IOException)
        {
        }
        Assert.True(survivors.Count == 0, "processes left running: " + string.Join("; ", survivors));
    }

    public ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CliDll);
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["SANDBOXPS_STATE_DIR"] = StateDir;
        // Hermetic by default: other people's docker sandboxes on this engine are not ours to list or
        // remove, and an unreachable engine exercises "skipped with a warning".
        psi.Environment["DOCKER_HOST"] = DockerHost;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return psi;
    }

    /// <summary>Runs the CLI to completion (bounded: a hang fails the test instead of blocking the run).</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    /// <summary>Runs the CLI with <paramref name="stdin"/> (null: closed at once) as its standard input.</summary>
    public async Task<CliResult> RunWithInputAsync(byte[]? stdin, params string[] args)
    {
        using var process = Process.Start(StartInfo(args))!;
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"sandboxps {string.Join(' ', args)} hung");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Creates a ready sandbox and returns its id.</summary>
    public async Task<string> NewAsync(params string[] extra)
    {
        var result = await RunAsync(["new", .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim();
    }

    public int ServerPid(string id)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(StateDir, "process", id + ".json")));
        return doc.RootElement.GetProperty("serverPid").GetInt32();
    }

    public List<string> Survivors()
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (cmd.Contains(StateDir, StringComparison.Ordinal) && stat[(stat.LastIndexOf(')') + 2)] != 'Z')
                {
                    found.Add($"{pid}: {cmd}");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    public static string Lf(string text) => text.Replace("\r\n", "\n");
}
