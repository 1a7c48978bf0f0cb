using System.Formats.Tar;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using SandboxPS.Core;

namespace SandboxPS.Bench.Phases;

/// <summary>
/// Bare engine paths that split a Docker sandbox's create → Ready into its parts, so a missed
/// ready target can be pinned on one of them: publishing a port (docker-proxy), copying the server
/// in through the archive API, and the full "server in a container answers /health" path done
/// with raw engine calls, once with the binary copied in and once bind-mounted read-only.
/// </summary>
internal sealed class ReadyDiagnostics(BenchContext ctx) : IDisposable
{
    private const string Dir = "/.sbxbench";
    private const string ServerInContainer = Dir + "/" + ServerBinary.FileName;
    private const string Port = "8787/tcp";

    private readonly HttpClient _health = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };
    private readonly Lazy<byte[]> _archive = new(BuildArchive);
    private string? _container;
    private string? _runDir;

    public Samples Port_ { get; } = new();
    public Samples Copy { get; } = new();
    public Samples FloorCopy { get; } = new();
    public Samples FloorBind { get; } = new();
    public Samples FloorUnix { get; } = new();

    public IEnumerable<Contender> Contenders()
    {
        yield return new("diag_start_port", Port_, async c =>
        {
            _container = await ctx.CreateContainerAsync(["sleep", "60"], c, PublishPort).ConfigureAwait(false);
            await ctx.Engine.StartContainerAsync(_container, c).ConfigureAwait(false);
            await WaitRunningAsync(_container, c).ConfigureAwait(false);
        }, RemoveAsync);
        yield return new("diag_start_copy", Copy, async c =>
        {
            _container = await ctx.CreateContainerAsync(["sleep", "60"], c).ConfigureAwait(false);
            await CopyServerAsync(_container, c).ConfigureAwait(false);
            await ctx.Engine.StartContainerAsync(_container, c).ConfigureAwait(false);
            await WaitRunningAsync(_container, c).ConfigureAwait(false);
        }, RemoveAsync);
        yield return new("diag_floor_copy", FloorCopy, async c =>
        {
            _container = await ctx.CreateContainerAsync([], c, b => ServerEntrypoint(b, bind: false)).ConfigureAwait(false);
            await CopyServerAsync(_container, c).ConfigureAwait(false);
            await ctx.Engine.StartContainerAsync(_container, c).ConfigureAwait(false);
            await WaitHealthyAsync(_container, c).ConfigureAwait(false);
        }, RemoveAsync);
        yield return new("diag_floor_bind", FloorBind, async c =>
        {
            _container = await ctx.CreateContainerAsync([], c, b => ServerEntrypoint(b, bind: true)).ConfigureAwait(false);
            await ctx.Engine.StartContainerAsync(_container, c).ConfigureAwait(false);
            await WaitHealthyAsync(_container, c).ConfigureAwait(false);
        }, RemoveAsync);
        yield return new("diag_floor_unix", FloorUnix, async c =>
        {
            // No port, no copy: server bind-mounted, listening on a unix socket in a bind-mounted directory.
            var runDir = Path.Combine(ctx.TempDir, "diag-run-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(runDir);
            _runDir = runDir;
            _container = await ctx.CreateContainerAsync([], c, b => UnixEntrypoint(b, runDir)).ConfigureAwait(false);
            await ctx.Engine.StartContainerAsync(_container, c).ConfigureAwait(false);
            await WaitHealthyUnixAsync(Path.Combine(runDir, "s.sock"), c).ConfigureAwait(false);
        }, RemoveAsync);
    }

    public void Record(Results results)
    {
        DockerSandboxPhase.SetIfAny(results, "diag_start_port", Port_, 1);
        DockerSandboxPhase.SetIfAny(results, "diag_start_copy", Copy, 1);
        DockerSandboxPhase.SetIfAny(results, "diag_floor_copy", FloorCopy, 1);
        DockerSandboxPhase.SetIfAny(results, "diag_floor_bind", FloorBind, 1);
        DockerSandboxPhase.SetIfAny(results, "diag_floor_unix", FloorUnix, 1);
    }

    public void Dispose() => _health.Dispose();

    private async Task RemoveAsync(CancellationToken ct)
    {
        if (_container is { } id)
        {
            _container = null;
            await ctx.RemoveContainerAsync(id, ct).ConfigureAwait(false);
        }
        if (_runDir is { } dir)
        {
            _runDir = null;
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void PublishPort(JsonObject body)
    {
        body["ExposedPorts"] = new JsonObject { [Port] = new JsonObject() };
        body["HostConfig"]!["PortBindings"] = new JsonObject
        {
            [Port] = new JsonArray(new JsonObject { ["HostIp"] = "127.0.0.1", ["HostPort"] = "" }),
        };
    }

    private static void ServerEntrypoint(JsonObject body, bool bind)
    {
        PublishPort(body);
        body["Entrypoint"] = new JsonArray(ServerInContainer, "--listen", "0.0.0.0:8787");
        body["Env"] = new JsonArray($"SANDBOXPS_TOKEN={Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))}");
        if (bind)
        {
            body["HostConfig"]!["Binds"] = new JsonArray($"{ServerBinary.Locate()}:{ServerInContainer}:ro");
        }
    }

    private static void UnixEntrypoint(JsonObject body, string runDir)
    {
        body["Entrypoint"] = new JsonArray(ServerInContainer, "--unix", "/.sbxrun/s.sock");
        body["Env"] = new JsonArray($"SANDBOXPS_TOKEN={Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))}");
        body["HostConfig"]!["Binds"] = new JsonArray($"{ServerBinary.Locate()}:{ServerInContainer}:ro", $"{runDir}:/.sbxrun");
    }

    private static async Task WaitHealthyUnixAsync(string socketPath, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, c) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath), c).ConfigureAwait(false);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        { Timeout = TimeSpan.FromSeconds(5) };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("http://localhost/health", deadline.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // The socket does not exist yet.
            }
            await Task.Delay(2, deadline.Token).ConfigureAwait(false);
        }
    }

    private async Task CopyServerAsync(string container, CancellationToken ct)
    {
        var content = new ByteArrayContent(_archive.Value);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        await ctx.Engine.PutArchiveAsync(container, "/", content, ct).ConfigureAwait(false);
    }

    private async Task WaitRunningAsync(string container, CancellationToken ct)
    {
        while (!(await ctx.Engine.GetRunStateAsync(container, ct).ConfigureAwait(false)).Running)
        {
            await Task.Delay(1, ct).ConfigureAwait(false);
        }
    }

    private async Task WaitHealthyAsync(string container, CancellationToken ct)
    {
        var port = await ctx.Engine.GetPublishedPortAsync(container, Port, ct).ConfigureAwait(false);
        var url = $"http://127.0.0.1:{port}/health";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                using var response = await _health.GetAsync(url, deadline.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // docker-proxy accepts before the server listens, then drops the connection.
            }
            await Task.Delay(2, deadline.Token).ConfigureAwait(false);
        }
    }

    private static byte[] BuildArchive()
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, Dir.TrimStart('/') + "/")
            {
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                       | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            });
            writer.WriteEntry(ServerBinary.Locate(), ServerInContainer.TrimStart('/'));
        }
        return buffer.ToArray();
    }
}
