using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using SandboxPS.Core.Internal;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>
/// A small Docker Engine API client: HTTP/1.1 over the engine's unix socket or TCP (optionally TLS),
/// API version negotiated once with <c>GET /version</c>, every failure a <see cref="SandboxException"/>.
/// Thread-safe; constructing it does not touch the engine.
/// </summary>
internal sealed class DockerEngineClient : IDisposable
{
    /// <summary>Newest API version we speak; the engine's own when it is older.</summary>
    public const string MaxApiVersion = "1.41";

    private static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromMinutes(2);

    private readonly HttpClient _http;
    private readonly SemaphoreSlim _versionLock = new(1, 1);
    private string? _apiVersion;
    private DockerVersion? _version;

    public DockerEngineClient(DockerEndpoint endpoint)
    {
        Endpoint = endpoint;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (endpoint.UnixSocketPath is { } socketPath)
        {
            handler.ConnectCallback = UnixSocketConnector.For(socketPath);
        }
        if (endpoint.TlsVerify)
        {
            handler.SslOptions = CreateTlsOptions(endpoint);
        }
        _http = new HttpClient(handler) { BaseAddress = endpoint.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("SandboxPS/" + typeof(DockerEngineClient).Assembly.GetName().Version);
    }

    /// <summary>Where the engine is expected.</summary>
    public DockerEndpoint Endpoint { get; }

    /// <summary>The negotiated API version, once a call has been made.</summary>
    public string? ApiVersion => _apiVersion;

    /// <summary>A client for DOCKER_HOST (or the default socket).</summary>
    public static DockerEngineClient FromEnvironment() => new(DockerEndpoint.FromEnvironment());

    public void Dispose()
    {
        _http.Dispose();
        _versionLock.Dispose();
    }

    /// <summary><c>GET /version</c> without a version prefix.</summary>
    public async Task<DockerVersion> GetVersionAsync(CancellationToken ct)
    {
        using var cts = Guard(ct);
        using var response = await SendRawAsync(HttpMethod.Get, "/version", null, HttpCompletionOption.ResponseContentRead, cts.Token, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "GET /version", null, null, cts.Token).ConfigureAwait(false);
        return await ReadJsonAsync(response, DockerJsonContext.Default.DockerVersion, "GET /version", cts.Token).ConfigureAwait(false);
    }

    /// <summary>Negotiates the API version once: min(engine's, <see cref="MaxApiVersion"/>).</summary>
    public async Task<string> GetApiVersionAsync(CancellationToken ct)
    {
        if (_apiVersion is { } known)
        {
            return known;
        }
        await _versionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_apiVersion is null)
            {
                _version = await GetVersionAsync(ct).ConfigureAwait(false);
                _apiVersion = Negotiate(_version.ApiVersion);
            }
            return _apiVersion;
        }
        finally
        {
            _versionLock.Release();
        }
    }

    /// <summary>
    /// Whether the engine can run its init (<c>HostConfig.Init</c>): it lists an init component
    /// (<c>docker-init</c>, tini) in <c>GET /version</c> only when that binary answered
    /// <c>--version</c>. Asked once, with the version negotiation.
    /// </summary>
    public async Task<bool> HasInitAsync(CancellationToken ct)
    {
        await GetApiVersionAsync(ct).ConfigureAwait(false);
        return HasInit(_version);
    }

    internal static bool HasInit(DockerVersion? version) =>
        version?.Components?.Any(c => c.Name is { } name
                                      && (name.Contains("init", StringComparison.OrdinalIgnoreCase)
                                          || name.Contains("tini", StringComparison.OrdinalIgnoreCase))) == true;

    /// <summary>min(engine, ours); ours when the engine does not say.</summary>
    internal static string Negotiate(string? engineVersion)
    {
        if (engineVersion is null || !Version.TryParse(engineVersion, out var engine))
        {
            return MaxApiVersion;
        }
        return engine < Version.Parse(MaxApiVersion) ? engineVersion : MaxApiVersion;
    }

    /// <summary>GET a JSON document.</summary>
    public async Task<T> GetJsonAsync<T>(string path, JsonTypeInfo<T> type, DockerErrorMap? errors, CancellationToken ct)
    {
        using var cts = Guard(ct);
        using var response = await SendVersionedAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseContentRead, cts.Token, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "GET " + StripQuery(path), errors, null, cts.Token).ConfigureAwait(false);
        return await ReadJsonAsync(response, type, "GET " + StripQuery(path), cts.Token).ConfigureAwait(false);
    }

    /// <summary>POST a JSON body, read a JSON answer.</summary>
    public async Task<TResponse> PostJsonAsync<TRequest, TResponse>(string path, TRequest body, JsonTypeInfo<TRequest> requestType,
                                                                    JsonTypeInfo<TResponse> responseType, DockerErrorMap? errors,
                                                                    CancellationToken ct)
    {
        using var cts = Guard(ct);
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, requestType));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await SendVersionedAsync(HttpMethod.Post, path, content, HttpCompletionOption.ResponseContentRead, cts.Token, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "POST " + StripQuery(path), errors, null, cts.Token).ConfigureAwait(false);
        return await ReadJsonAsync(response, responseType, "POST " + StripQuery(path), cts.Token).ConfigureAwait(false);
    }

    /// <summary>Sends a request whose answer body we do not need (start, delete, pause, archive).</summary>
    public async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, HttpContent? content, DockerErrorMap? errors,
                                                CancellationToken ct, params HttpStatusCode[] alsoAccept)
    {
        using var cts = Guard(ct);
        using var response = await SendVersionedAsync(method, path, content, HttpCompletionOption.ResponseContentRead, cts.Token, ct).ConfigureAwait(false);
        if (Array.IndexOf(alsoAccept, response.StatusCode) >= 0)
        {
            return response.StatusCode;
        }
        await EnsureSuccessAsync(response, method.Method + " " + StripQuery(path), errors, null, cts.Token).ConfigureAwait(false);
        return response.StatusCode;
    }

    /// <summary>
    /// Sends a request and returns once headers arrive, for streamed answers (logs, build progress).
    /// The caller disposes the response. No call timeout: the caller's token bounds it.
    /// </summary>
    public async Task<HttpResponseMessage> SendStreamingAsync(HttpMethod method, string path, HttpContent? content,
                                                              DockerErrorMap? errors, CancellationToken ct)
    {
        var response = await SendVersionedAsync(method, path, content, HttpCompletionOption.ResponseHeadersRead, ct, ct).ConfigureAwait(false);
        try
        {
            await EnsureSuccessAsync(response, method.Method + " " + StripQuery(path), errors, null, ct).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<HttpResponseMessage> SendVersionedAsync(HttpMethod method, string path, HttpContent? content,
                                                      HttpCompletionOption completion, CancellationToken ct, CancellationToken callerCt)
    {
        var version = await GetApiVersionAsync(ct).ConfigureAwait(false);
        return await SendRawAsync(method, "/v" + version + path, content, completion, ct, callerCt).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, HttpContent? content,
                                                         HttpCompletionOption completion, CancellationToken ct, CancellationToken callerCt)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        try
        {
            return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Unavailable(ex);
        }
        catch (OperationCanceledException ex) when (!callerCt.IsCancellationRequested)
        {
            // Our own call timeout or the connect timeout, not the caller's cancellation.
            if (ex.InnerException is TimeoutException || !ct.IsCancellationRequested)
            {
                throw Unavailable(ex);
            }
            throw new SandboxException(SandboxErrorKind.Timeout, "DockerEngineTimeout",
                $"The Docker engine at {Endpoint.Display} did not answer {method.Method} {StripQuery(path)} within {DefaultCallTimeout.TotalSeconds:0} s.",
                innerException: ex)
            {
                RecommendedAction = "Check that the engine is healthy ('docker info') and not overloaded.",
            };
        }
    }

    /// <summary>The error when no engine answers: what was tried, why it failed, and what to do.</summary>
    internal SandboxException Unavailable(Exception inner)
    {
        var socketError = inner is HttpRequestException { InnerException: SocketException se } ? se.SocketErrorCode : (SocketError?)null;
        var why = inner is HttpRequestException { InnerException: SocketException s } ? s.Message : inner.Message;
        const string startIt = "Start the Docker engine: 'sudo systemctl start docker' (systemd), 'sudo service docker start', or 'sudo dockerd &' where there is no init system";
        var action = startIt + "; or set DOCKER_HOST to where an engine listens (unix:///path/docker.sock or tcp://HOST:PORT).";
        if (Endpoint.UnixSocketPath is { } socketPath)
        {
            if (!File.Exists(socketPath))
            {
                why = $"the socket {socketPath} does not exist, so the engine is not running (or listens elsewhere)";
            }
            else if (socketError is SocketError.ConnectionRefused)
            {
                why = $"nothing listens on {socketPath} (a socket left behind by an engine that stopped)";
            }
            else if (socketError is SocketError.AccessDenied)
            {
                why = $"permission denied on {socketPath}";
                action = "Run as root or as a member of the socket's group (usually 'docker': 'sudo usermod -aG docker $USER', then log in again).";
            }
        }
        else if (socketError is SocketError.ConnectionRefused)
        {
            why = "the connection was refused (no engine listens on that port)";
        }
        var fromEnv = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } ? " (from DOCKER_HOST)" : " (the default; DOCKER_HOST is not set)";
        return new SandboxException(SandboxErrorKind.ProviderUnavailable, "DockerEngineUnavailable",
            $"No Docker engine answered at {Endpoint.Display}{fromEnv}: {why}.", Endpoint.Display, inner)
        {
            RecommendedAction = action,
        };
    }

    private async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, string operation, CancellationToken ct)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return await JsonSerializer.DeserializeAsync(stream, type, ct).ConfigureAwait(false)
                   ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new SandboxException(SandboxErrorKind.Internal, "DockerEngineBadAnswer",
                $"The Docker engine at {Endpoint.Display} answered {operation} with JSON we cannot read: {ex.Message}", innerException: ex);
        }
    }

    /// <summary>
    /// The one place engine status codes become exceptions. 404 → NotFound, 409 → Conflict,
    /// 400 → InvalidArgument, 401/403 → Unauthorized, 503 → ProviderUnavailable, anything else →
    /// Internal; <paramref name="errors"/> overrides ids (and kinds) per status.
    /// </summary>
    internal async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, DockerErrorMap? errors, string? target,
                                           CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        string message;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            message = ParseEngineMessage(text);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            message = ex.Message;
        }
        throw MapError(response.StatusCode, message, operation, errors, target ?? errors?.Target);
    }

    internal static string ParseEngineMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "(no message)";
        }
        try
        {
            var parsed = JsonSerializer.Deserialize(body, DockerJsonContext.Default.DockerErrorBody);
            if (!string.IsNullOrEmpty(parsed?.Message))
            {
                return parsed.Message.Trim();
            }
        }
        catch (JsonException)
        {
        }
        return body.Trim();
    }

    internal static SandboxException MapError(HttpStatusCode status, string engineMessage, string operation, DockerErrorMap? errors, string? target)
    {
        var (kind, id) = status switch
        {
            HttpStatusCode.NotFound => (SandboxErrorKind.NotFound, "DockerObjectNotFound"),
            HttpStatusCode.Conflict => (SandboxErrorKind.Conflict, "DockerConflict"),
            HttpStatusCode.BadRequest => (SandboxErrorKind.InvalidArgument, "DockerBadRequest"),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => (SandboxErrorKind.Unauthorized, "DockerEngineDenied"),
            HttpStatusCode.ServiceUnavailable => (SandboxErrorKind.ProviderUnavailable, "DockerEngineUnavailable"),
            _ => (SandboxErrorKind.Internal, "DockerEngineError"),
        };
        if (errors?.Overrides is { } overrides && overrides.TryGetValue(status, out var over))
        {
            (kind, id) = over;
        }
        return new SandboxException(kind, id, $"Docker engine: {operation} failed ({(int)status}): {engineMessage}", target ?? errors?.Target)
        {
            RecommendedAction = errors?.RecommendedAction,
        };
    }

    private static CancellationTokenSource Guard(CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(DefaultCallTimeout);
        return cts;
    }

    private static string StripQuery(string path)
    {
        var q = path.IndexOf('?');
        return q < 0 ? path : path[..q];
    }

    private static SslClientAuthenticationOptions CreateTlsOptions(DockerEndpoint endpoint)
    {
        var dir = endpoint.CertPath!;
        string Need(string file)
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path))
            {
                throw new SandboxException(SandboxErrorKind.InvalidArgument, "DockerCertificateMissing",
                    $"DOCKER_TLS_VERIFY is set but '{path}' does not exist.")
                {
                    RecommendedAction = "Set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY.",
                };
            }
            return path;
        }
        var ca = X509Certificate2.CreateFromPemFile(Need("ca.pem"));
        var client = X509Certificate2.CreateFromPemFile(Need("cert.pem"), Need("key.pem"));
        return new SslClientAuthenticationOptions
        {
            ClientCertificates = new X509CertificateCollection { client },
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var server = new X509Certificate2(certificate);
                return chain.Build(server);
            },
        };
    }

    /// <summary>Percent-encodes a query value.</summary>
    internal static string Q(string value) => Uri.EscapeDataString(value);

    /// <summary>The <c>filters</c> query value for label filters.</summary>
    internal static string LabelFilters(IEnumerable<string> labels) =>
        Q(JsonSerializer.Serialize(new Dictionary<string, List<string>> { ["label"] = labels.ToList() },
                                   DockerJsonContext.Default.DictionaryStringListString));

    /// <summary>Splits the engine's multiplexed stdout/stderr stream (non-TTY logs and attach) into text.</summary>
    internal static async Task<string> ReadMultiplexedAsync(Stream stream, CancellationToken ct)
    {
        var text = new StringBuilder();
        var header = new byte[8];
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var got = await ReadAtLeastAsync(stream, header, 8, ct).ConfigureAwait(false);
            if (got == 0)
            {
                break;
            }
            if (got < 8 || header[0] > 2 || header[1] != 0 || header[2] != 0 || header[3] != 0)
            {
                // Not multiplexed (a TTY container): the rest is raw text.
                text.Append(Encoding.UTF8.GetString(header, 0, got));
                using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
                text.Append(await reader.ReadToEndAsync(ct).ConfigureAwait(false));
                break;
            }
            var size = (header[4] << 24) | (header[5] << 16) | (header[6] << 8) | header[7];
            using var frame = new MemoryStream(size);
            while (size > 0)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(size, buffer.Length)), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                frame.Write(buffer, 0, n);
                size -= n;
            }
            text.Append(Encoding.UTF8.GetString(frame.GetBuffer(), 0, (int)frame.Length));
        }
        return text.ToString();
    }

    private static async Task<int> ReadAtLeastAsync(Stream stream, byte[] buffer, int count, CancellationToken ct)
    {
        var total = 0;
        while (total < count)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total, count - total), ct).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}

/// <summary>Per-call overrides of <see cref="DockerEngineClient.MapError"/>: ids, kinds, target and advice.</summary>
internal sealed record DockerErrorMap
{
    public IReadOnlyDictionary<HttpStatusCode, (SandboxErrorKind Kind, string ErrorId)>? Overrides { get; init; }
    public string? Target { get; init; }
    public string? RecommendedAction { get; init; }

    /// <summary>404 means the named thing is missing: NotFound with <paramref name="errorId"/>.</summary>
    public static DockerErrorMap NotFound(string errorId, string? target = null, string? recommendedAction = null) => new()
    {
        Overrides = new Dictionary<HttpStatusCode, (SandboxErrorKind, string)> { [HttpStatusCode.NotFound] = (SandboxErrorKind.NotFound, errorId) },
        Target = target,
        RecommendedAction = recommendedAction,
    };
}
