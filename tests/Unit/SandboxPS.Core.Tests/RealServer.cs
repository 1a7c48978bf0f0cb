using System.Diagnostics;
using System.Text.Json;

namespace SandboxPS.Core.Tests;

/// <summary>The real sandboxps-server binary (copied beside the tests), started on loopback port 0 or a unix socket.</summary>
public sealed class RealServer : IAsyncLifetime
{
    private Process? _process;

    public string Token { get; } = SandboxLabelBuilder.NewToken();
    public string Endpoint { get; private set; } = "";
    public string WorkDir { get; } = Path.Combine(Path.GetTempPath(), "sbx-client-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public string? UnixSocket { get; init; }

    public SandboxClient NewClient(string? token = null) => new(Endpoint, token ?? Token);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkDir);
        var psi = new ProcessStartInfo(ServerBinary.Locate())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in UnixSocket is null
                     ? new[] { "--listen", "127.0.0.1:0", "--workdir", WorkDir, "--ttl", "10m" }
                     : new[] { "--unix", UnixSocket, "--workdir", WorkDir, "--ttl", "10m" })
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["SANDBOXPS_TOKEN"] = Token;
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await _process.StandardOutput.ReadLineAsync(cts.Token)
                   ?? throw new InvalidOperationException("the server printed nothing");
        using var doc = JsonDocument.Parse(line);
        Endpoint = doc.RootElement.GetProperty("listening").GetString()!;
        // Keep draining stdout so the server never blocks on a full pipe.
        _ = _process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
