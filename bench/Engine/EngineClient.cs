using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SandboxPS.Bench.Engine;

/// <summary>
/// The bare Docker Engine API path the baselines use: HTTP/1.1 over the unix socket, one call per
/// engine operation, nothing of SandboxPS in between. It does what the docker CLI does over the
/// same socket, minus the CLI's own process start, so the baselines are as fast as Docker gets.
/// </summary>
internal sealed class EngineClient : IDisposable
{
    /// <summary>The engine here is 20.10; 1.41 is its API version.</summary>
    private const string Api = "/v1.41";

    private readonly HttpClient _http;

    public EngineClient(string socketPath = "/var/run/docker.sock")
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
        };
        // Timeouts come from the callers' cancellation tokens.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public string SocketPath { get; }

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync("/_ping", ct).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>GET /version: the engine's version and API version.</summary>
    public async Task<string> GetVersionAsync(CancellationToken ct)
    {
        using var response = await _http.GetAsync($"{Api}/version", ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "version", ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        return $"{doc.RootElement.GetProperty("Version").GetString()} (API {doc.RootElement.GetProperty("ApiVersion").GetString()})";
    }

    /// <summary>POST /containers/create; returns the container id.</summary>
    public async Task<string> CreateContainerAsync(string image, IReadOnlyList<string> cmd,
                                                   IReadOnlyDictionary<string, string> labels, CancellationToken ct,
                                                   Action<JsonObject>? customize = null)
    {
        var body = new JsonObject
        {
            ["Image"] = image,
            ["Cmd"] = new JsonArray(cmd.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
            ["Labels"] = new JsonObject(labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["AttachStdout"] = false,
            ["AttachStderr"] = false,
            ["HostConfig"] = new JsonObject(),
        };
        customize?.Invoke(body);
        using var doc = await SendJsonAsync(HttpMethod.Post, $"{Api}/containers/create", body, ct).ConfigureAwait(false);
        return doc.RootElement.GetProperty("Id").GetString()!;
    }

    /// <summary>POST /containers/{id}/start (synchronous in the engine: the process runs when it answers).</summary>
    public async Task StartContainerAsync(string id, CancellationToken ct)
    {
        using var response = await _http.PostAsync($"{Api}/containers/{id}/start", null, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotModified)
        {
            await EnsureSuccessAsync(response, $"start container {Short(id)}", ct).ConfigureAwait(false);
        }
    }

    /// <summary>GET /containers/{id}/json; null when it does not exist.</summary>
    public async Task<JsonDocument?> InspectContainerAsync(string idOrName, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"{Api}/containers/{Uri.EscapeDataString(idOrName)}/json", ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        await EnsureSuccessAsync(response, $"inspect container {Short(idOrName)}", ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        return await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
    }

    /// <summary>State.Running and State.Pid (the host pid of the container's first process).</summary>
    public async Task<(bool Running, int Pid)> GetRunStateAsync(string id, CancellationToken ct)
    {
        using var doc = await InspectContainerAsync(id, ct).ConfigureAwait(false)
            ?? throw new BenchException($"container {Short(id)} does not exist");
        var state = doc.RootElement.GetProperty("State");
        return (state.GetProperty("Running").GetBoolean(), state.GetProperty("Pid").GetInt32());
    }

    /// <summary>The host port published for a container port (e.g. <c>8787/tcp</c>).</summary>
    public async Task<int> GetPublishedPortAsync(string id, string containerPort, CancellationToken ct)
    {
        using var doc = await InspectContainerAsync(id, ct).ConfigureAwait(false)
            ?? throw new BenchException($"container {Short(id)} does not exist");
        var port = doc.RootElement.GetProperty("NetworkSettings").GetProperty("Ports").GetProperty(containerPort)[0].GetProperty("HostPort").GetString();
        return int.Parse(port!, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>DELETE /containers/{id}?force=true&amp;v=true; a container that is gone counts as removed.</summary>
    public async Task RemoveContainerAsync(string id, CancellationToken ct)
    {
        using var response = await _http.DeleteAsync($"{Api}/containers/{id}?force=true&v=true", ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            await EnsureSuccessAsync(response, $"remove container {Short(id)}", ct).ConfigureAwait(false);
        }
    }

    /// <summary>GET /containers/json?all=true filtered by one label (key=value); returns ids.</summary>
    public async Task<IReadOnlyList<string>> ListContainerIdsAsync(string labelFilter, CancellationToken ct)
    {
        var filters = Uri.EscapeDataString(new JsonObject { ["label"] = new JsonArray(labelFilter) }.ToJsonString());
        using var response = await _http.GetAsync($"{Api}/containers/json?all=true&filters={filters}", ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "list containers", ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("Id").GetString()!).ToList();
    }

    /// <summary>
    /// What <c>docker exec CONTAINER cmd…</c> does: create the exec, start it attached (the answer is
    /// the hijacked, multiplexed output stream, read to EOF), then read its exit code.
    /// </summary>
    public async Task<int> ExecAsync(string containerId, IReadOnlyList<string> cmd, CancellationToken ct)
    {
        var create = new JsonObject
        {
            ["AttachStdin"] = false,
            ["AttachStdout"] = true,
            ["AttachStderr"] = true,
            ["Tty"] = false,
            ["Cmd"] = new JsonArray(cmd.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
        };
        string execId;
        using (var doc = await SendJsonAsync(HttpMethod.Post, $"{Api}/containers/{containerId}/exec", create, ct).ConfigureAwait(false))
        {
            execId = doc.RootElement.GetProperty("Id").GetString()!;
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, $"{Api}/exec/{execId}/start"))
        {
            request.Content = JsonContent(new JsonObject { ["Detach"] = false, ["Tty"] = false });
            // Without an Upgrade header the engine answers 200 and then hijacks the connection: the
            // body has no length and ends when the engine closes it after the process exits.
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            await EnsureSuccessAsync(response, $"start exec in {Short(containerId)}", ct).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await stream.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
        }

        // The exit code is normally set when the stream ends; poll briefly in case the engine lags.
        for (var attempt = 0; ; attempt++)
        {
            using var response = await _http.GetAsync($"{Api}/exec/{execId}/json", ct).ConfigureAwait(false);
            await EnsureSuccessAsync(response, "inspect exec", ct).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
            if (!doc.RootElement.GetProperty("Running").GetBoolean() || attempt >= 200)
            {
                var exit = doc.RootElement.GetProperty("ExitCode");
                return exit.ValueKind == JsonValueKind.Number ? exit.GetInt32() : -1;
            }
            await Task.Delay(1, ct).ConfigureAwait(false);
        }
    }

    /// <summary>PUT /containers/{id}/archive?path=DIR with a tar body (what <c>docker cp SRC CONTAINER:DIR</c> sends).</summary>
    public async Task PutArchiveAsync(string containerId, string directory, HttpContent tar, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put,
            $"{Api}/containers/{containerId}/archive?path={Uri.EscapeDataString(directory)}") { Content = tar };
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, $"put archive into {Short(containerId)}", ct).ConfigureAwait(false);
    }

    /// <summary>GET /containers/{id}/archive?path=P: a tar stream of P (what <c>docker cp CONTAINER:P DEST</c> reads).</summary>
    public async Task<HttpResponseMessage> GetArchiveAsync(string containerId, string path, CancellationToken ct)
    {
        var response = await _http.GetAsync($"{Api}/containers/{containerId}/archive?path={Uri.EscapeDataString(path)}",
                                             HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        try
        {
            await EnsureSuccessAsync(response, $"get archive from {Short(containerId)}", ct).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<JsonDocument> SendJsonAsync(HttpMethod method, string path, JsonNode body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent(body) };
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, $"{method} {path}", ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        return await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
    }

    private static StringContent JsonContent(JsonNode body)
    {
        var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        string message = text;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("message", out var m))
            {
                message = m.GetString() ?? text;
            }
        }
        catch (JsonException)
        {
        }
        throw new BenchException($"Docker engine: {what} failed with {(int)response.StatusCode}: {message.Trim()}");
    }

    internal static string Short(string id) => id.Length > 12 ? id[..12] : id;
}
