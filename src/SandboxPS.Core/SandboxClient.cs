using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SandboxPS.Core.Internal;
using SandboxPS.Protocol;

namespace SandboxPS.Core;

/// <summary>
/// HTTP client for one sandbox's server (wire protocol v1, docs/protocol.md). Thread-safe: one instance
/// serves concurrent calls (calls to different sessions run in parallel on the server). Every failure is a
/// <see cref="SandboxException"/>; transport failures before a response are retried with a short backoff,
/// and non-GET calls carry an <c>X-Request-Id</c> so a retry never runs anything twice.
/// </summary>
public sealed class SandboxClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly SandboxClientOptions _options;
    private readonly string _target;

    /// <summary>Creates a client.</summary>
    /// <param name="endpoint"><c>http://127.0.0.1:PORT</c> or <c>unix:/path/to/socket</c>.</param>
    /// <param name="token">The sandbox's bearer token.</param>
    /// <param name="options">Timeouts; defaults when null.</param>
    /// <exception cref="SandboxException">InvalidArgument when the endpoint cannot be read.</exception>
    public SandboxClient(string endpoint, string token, SandboxClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        ArgumentNullException.ThrowIfNull(token);
        _options = options ?? new SandboxClientOptions();
        Endpoint = endpoint;
        _target = _options.SandboxName ?? endpoint;

        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
        };
        Uri baseAddress;
        if (endpoint.StartsWith("unix:", StringComparison.Ordinal))
        {
            var socketPath = endpoint["unix:".Length..];
            if (socketPath.StartsWith("//", StringComparison.Ordinal))
            {
                socketPath = socketPath[2..];
            }
            handler.ConnectCallback = UnixSocketConnector.For(socketPath);
            baseAddress = new Uri("http://localhost/");
        }
        else if (Uri.TryCreate(endpoint.EndsWith('/') ? endpoint : endpoint + "/", UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp)
        {
            baseAddress = uri;
        }
        else
        {
            handler.Dispose();
            throw new SandboxException(SandboxErrorKind.InvalidArgument, "InvalidEndpoint",
                $"'{endpoint}' is not a sandbox endpoint: expected http://HOST:PORT or unix:/path/to/socket.", endpoint);
        }
        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("SandboxPS", SandboxLabelBuilder.ToolVersion));
    }

    /// <summary>The endpoint this client talks to.</summary>
    public string Endpoint { get; }

    /// <summary><c>GET /health</c>: the server answers (no auth needed).</summary>
    public Task<HealthResponse> GetHealthAsync(CancellationToken cancellationToken = default) =>
        GetJsonAsync<HealthResponse>("health", "health check", cancellationToken);

    /// <summary>
    /// One health probe without retries, bounded by <paramref name="timeout"/>: true when the server
    /// answered 200. Readiness loops use it; they do their own backoff.
    /// </summary>
    internal async Task<bool> ProbeHealthAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var response = await _http.GetAsync("health", HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary><c>GET /v1/info</c>: OS, user, working directory, sessions, timeouts.</summary>
    public Task<InfoResponse> GetInfoAsync(CancellationToken cancellationToken = default) =>
        GetJsonAsync<InfoResponse>("v1/info", "info", cancellationToken);

    /// <summary><c>POST /v1/sessions</c>: a new shell or python session.</summary>
    /// <exception cref="SandboxException">QuotaExceeded/<c>CapacityReached</c>; Conflict/<c>SessionExists</c>; InvalidArgument/<c>PythonNotAvailable</c>.</exception>
    public Task<SessionInfo> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, "v1/sessions", request, ProtocolJsonContext.Default.CreateSessionRequest,
                      ClientJson.Read<SessionInfo>(), "create session", _options.RequestTimeout, cancellationToken);

    /// <summary><c>GET /v1/sessions</c>.</summary>
    public async Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken cancellationToken = default) =>
        (await GetJsonAsync<SessionList>("v1/sessions", "list sessions", cancellationToken).ConfigureAwait(false)).Sessions;

    /// <summary><c>GET /v1/sessions/{id}</c>.</summary>
    /// <exception cref="SandboxException">NotFound/<c>SessionNotFound</c>.</exception>
    public Task<SessionInfo> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        GetJsonAsync<SessionInfo>(SessionPath(sessionId), "get session", cancellationToken);

    /// <summary><c>DELETE /v1/sessions/{id}</c>.</summary>
    /// <exception cref="SandboxException">NotFound/<c>SessionNotFound</c>.</exception>
    public Task DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(HttpMethod.Delete, SessionPath(sessionId), "delete session", cancellationToken);

    /// <summary>
    /// <c>POST /v1/sessions/{id}/run</c>: runs a command (shell) or code (python) and returns when it ends.
    /// A non-zero exit code is data. <paramref name="sessionId"/> null means the default session.
    /// </summary>
    public Task<RunResult> RunAsync(string? sessionId, RunRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, SessionPath(sessionId) + "/run", request, ProtocolJsonContext.Default.RunRequest,
                      ClientJson.Read<RunResult>(), "run", RunLimit(request.TimeoutSeconds), cancellationToken);

    /// <summary>
    /// Like <see cref="RunAsync"/>, streamed: <c>output</c> events as the command prints, then one <c>exit</c>
    /// event carrying the <see cref="RunResult"/>. An <c>error</c> event is thrown as a <see cref="SandboxException"/>.
    /// </summary>
    public IAsyncEnumerable<StreamEvent> RunStreamAsync(string? sessionId, RunRequest request, CancellationToken cancellationToken = default) =>
        StreamAsync(SessionPath(sessionId) + "/run?stream=true",
                    () => JsonContent(request, ProtocolJsonContext.Default.RunRequest), "run", RunLimit(request.TimeoutSeconds), cancellationToken);

    /// <summary><c>POST /v1/sessions/{id}/input</c>: text to the running command's stdin.</summary>
    /// <exception cref="SandboxException">Conflict/<c>SessionIdle</c> when nothing runs.</exception>
    public Task SendInputAsync(string? sessionId, InputRequest request, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(HttpMethod.Post, SessionPath(sessionId) + "/input", "send input", cancellationToken,
                           () => JsonContent(request, ProtocolJsonContext.Default.InputRequest));

    /// <summary><c>POST /v1/sessions/{id}/interrupt</c>: SIGINT to the running command's process group.</summary>
    /// <exception cref="SandboxException">Conflict/<c>SessionIdle</c> when nothing runs.</exception>
    public Task InterruptAsync(string? sessionId, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(HttpMethod.Post, SessionPath(sessionId) + "/interrupt", "interrupt", cancellationToken);

    /// <summary><c>POST /v1/exec</c>: a one-shot process outside any session (argv or shell line).</summary>
    public Task<ExecResult> ExecAsync(ExecRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, "v1/exec", request, ProtocolJsonContext.Default.ExecRequest,
                      ClientJson.Read<ExecResult>(), "exec", RunLimit(request.TimeoutSeconds), cancellationToken);

    /// <summary><c>POST /v1/exec?stream=true</c>: <c>stdout</c>/<c>stderr</c> events, then <c>exit</c> with the <see cref="ExecResult"/>.</summary>
    public IAsyncEnumerable<StreamEvent> ExecStreamAsync(ExecRequest request, CancellationToken cancellationToken = default) =>
        StreamAsync("v1/exec?stream=true", () => JsonContent(request, ProtocolJsonContext.Default.ExecRequest), "exec",
                    RunLimit(request.TimeoutSeconds), cancellationToken);

    /// <summary><c>GET /v1/files/text</c>: a text file, or lines <paramref name="startLine"/>..<paramref name="endLine"/> (1-based).</summary>
    public Task<FileTextResponse> ReadTextAsync(string path, int? startLine = null, int? endLine = null, CancellationToken cancellationToken = default)
    {
        var query = "v1/files/text?path=" + Uri.EscapeDataString(path);
        if (startLine is { } s) query += "&startLine=" + s.ToString(CultureInfo.InvariantCulture);
        if (endLine is { } e) query += "&endLine=" + e.ToString(CultureInfo.InvariantCulture);
        return GetJsonAsync<FileTextResponse>(query, "read file", cancellationToken, path);
    }

    /// <summary><c>GET /v1/files</c>: the file's raw bytes, streamed. Dispose the stream to end the call.</summary>
    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
        OpenStreamAsync("v1/files?path=" + Uri.EscapeDataString(path), "read file", path, cancellationToken);

    /// <summary>
    /// <c>PUT /v1/files</c>: writes <paramref name="content"/> (streamed, never buffered whole) to
    /// <paramref name="path"/>, creating parent directories. <paramref name="mode"/> is the Unix mode (e.g. 0b110_100_100 = 0644).
    /// </summary>
    public Task<WriteResponse> WriteFileAsync(string path, Stream content, int? mode = null, bool overwrite = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var query = "v1/files?path=" + Uri.EscapeDataString(path) + "&mkdirs=true&overwrite=" + (overwrite ? "true" : "false");
        if (mode is { } m) query += "&mode=" + Convert.ToString(m, 8);
        return SendStreamBodyAsync(HttpMethod.Put, query, content, "application/octet-stream", "write file", path, cancellationToken);
    }

    /// <summary><c>POST /v1/edit</c>: view, create, str_replace (exactly one match), insert, undo.</summary>
    /// <exception cref="SandboxException">InvalidArgument/<c>EditNoMatch</c>, <c>EditAmbiguous</c>, <c>EditNothingToUndo</c>, <c>EditInvalidRange</c>.</exception>
    public Task<EditResponse> EditAsync(EditRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, "v1/edit", request, ProtocolJsonContext.Default.EditRequest,
                      ClientJson.Read<EditResponse>(), "edit", _options.RequestTimeout, cancellationToken, request.Path);

    /// <summary><c>GET /v1/files/stat</c>.</summary>
    /// <exception cref="SandboxException">NotFound/<c>PathNotFound</c>.</exception>
    public Task<FileEntry> StatAsync(string path, CancellationToken cancellationToken = default) =>
        GetJsonAsync<FileEntry>("v1/files/stat?path=" + Uri.EscapeDataString(path), "stat", cancellationToken, path);

    /// <summary><c>GET /v1/files/list</c>.</summary>
    public Task<FileListResponse> ListFilesAsync(string path, CancellationToken cancellationToken = default) =>
        GetJsonAsync<FileListResponse>("v1/files/list?path=" + Uri.EscapeDataString(path), "list files", cancellationToken, path);

    /// <summary><c>DELETE /v1/files</c>.</summary>
    /// <exception cref="SandboxException">NotFound/<c>PathNotFound</c>.</exception>
    public Task DeleteFileAsync(string path, bool recursive = false, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(HttpMethod.Delete, "v1/files?path=" + Uri.EscapeDataString(path) + (recursive ? "&recursive=true" : ""),
                           "delete file", cancellationToken, target: path);

    /// <summary><c>PUT /v1/archive</c>: extracts the tar stream <paramref name="tar"/> under <paramref name="destinationDirectory"/> (created if missing).</summary>
    public Task<WriteResponse> UploadArchiveAsync(string destinationDirectory, Stream tar, CancellationToken cancellationToken = default) =>
        SendStreamBodyAsync(HttpMethod.Put, "v1/archive?path=" + Uri.EscapeDataString(destinationDirectory), tar,
                            ProtocolConstants.TarMediaType, "upload archive", destinationDirectory, cancellationToken);

    /// <summary><c>GET /v1/archive</c>: a tar stream of the file or directory, streamed. Dispose it to end the call.</summary>
    public Task<Stream> DownloadArchiveAsync(string path, CancellationToken cancellationToken = default) =>
        OpenStreamAsync("v1/archive?path=" + Uri.EscapeDataString(path), "download archive", path, cancellationToken);

    /// <summary>
    /// Copies a local file or directory into the sandbox, as <c>cp -r</c> does: when <paramref name="remotePath"/>
    /// is an existing directory the item lands inside it under its own name, otherwise it becomes
    /// <paramref name="remotePath"/>. The tar is written straight into the request (never to a temp file).
    /// </summary>
    /// <exception cref="SandboxException">NotFound/<c>LocalPathNotFound</c>; server errors of the upload.</exception>
    public Task<WriteResponse> CopyToSandboxAsync(string localPath, string remotePath, CancellationToken cancellationToken = default) =>
        TarCopy.CopyToSandboxAsync(this, localPath, remotePath, cancellationToken);

    /// <summary>
    /// Copies a file or directory out of the sandbox: when <paramref name="localPath"/> is an existing
    /// directory the item lands inside it under its own name, otherwise it becomes <paramref name="localPath"/>.
    /// Entries that would escape the destination are refused.
    /// </summary>
    /// <exception cref="SandboxException">InvalidArgument/<c>InvalidArchive</c>; NotFound/<c>PathNotFound</c>.</exception>
    public Task CopyFromSandboxAsync(string remotePath, string localPath, CancellationToken cancellationToken = default) =>
        TarCopy.CopyFromSandboxAsync(this, remotePath, localPath, cancellationToken);

    /// <summary><c>POST /v1/shutdown</c>: the server ends its sessions and exits.</summary>
    public Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        SendNoContentAsync(HttpMethod.Post, "v1/shutdown", "shutdown", cancellationToken);

    /// <summary>Closes the connections.</summary>
    public void Dispose() => _http.Dispose();

    // ---- plumbing ---------------------------------------------------------------------------------

    private static string SessionPath(string? sessionId) =>
        "v1/sessions/" + Uri.EscapeDataString(string.IsNullOrEmpty(sessionId) ? ProtocolConstants.DefaultSessionId : sessionId);

    private TimeSpan? RunLimit(double? timeoutSeconds) =>
        timeoutSeconds is { } s && s > 0 ? TimeSpan.FromSeconds(s) + _options.RunTimeoutGrace : null;

    private static HttpContent JsonContent<T>(T value, JsonTypeInfo<T> info)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, info));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private Task<T> GetJsonAsync<T>(string path, string operation, CancellationToken cancellationToken, string? target = null) =>
        CallAsync(HttpMethod.Get, path, null, operation, _options.RequestTimeout, target, retry: true,
                  (response, token) => ReadJsonAsync(response, ClientJson.Read<T>(), operation, token), cancellationToken);

    private Task<TResponse> SendJsonAsync<TRequest, TResponse>(HttpMethod method, string path, TRequest body, JsonTypeInfo<TRequest> requestInfo,
                                                               JsonTypeInfo<TResponse> responseInfo, string operation, TimeSpan? timeout,
                                                               CancellationToken cancellationToken, string? target = null) =>
        CallAsync(method, path, () => JsonContent(body, requestInfo), operation, timeout, target, retry: true,
                  (response, token) => ReadJsonAsync(response, responseInfo, operation, token), cancellationToken);

    private Task SendNoContentAsync(HttpMethod method, string path, string operation, CancellationToken cancellationToken,
                                    Func<HttpContent>? content = null, string? target = null) =>
        CallAsync<bool>(method, path, content, operation, _options.RequestTimeout, target, retry: true, (_, _) => Task.FromResult(true), cancellationToken);

    private Task<WriteResponse> SendStreamBodyAsync(HttpMethod method, string path, Stream body, string mediaType, string operation,
                                                    string target, CancellationToken cancellationToken)
    {
        // A stream can be sent again only if it can be rewound; otherwise the call is not retried.
        long? start = body.CanSeek ? body.Position : null;
        return CallAsync(method, path, () =>
        {
            if (start is { } s && body.Position != s)
            {
                body.Position = s;
            }
            return new UploadContent(body, start is { } from ? body.Length - from : null, mediaType);
        }, operation, null, target, retry: start is not null,
           (response, token) => ReadJsonAsync(response, ClientJson.Read<WriteResponse>(), operation, token), cancellationToken);
    }

    /// <summary>Sends a request with a custom content (tar writers); not retried since content is produced once.</summary>
    internal Task<WriteResponse> SendProducedBodyAsync(HttpMethod method, string path, HttpContent content, string operation, string target, CancellationToken cancellationToken) =>
        CallAsync(method, path, () => content, operation, null, target, retry: false,
                  (response, token) => ReadJsonAsync(response, ClientJson.Read<WriteResponse>(), operation, token), cancellationToken);

    /// <summary>
    /// One logical call: a linked timeout, the shared retry pipeline around the send (with the same
    /// X-Request-Id on every attempt), error mapping, and the body read under the same timeout.
    /// </summary>
    private async Task<T> CallAsync<T>(HttpMethod method, string path, Func<HttpContent>? content, string operation, TimeSpan? timeout,
                                       string? target, bool retry, Func<HttpResponseMessage, CancellationToken, Task<T>> read,
                                       CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            cts.CancelAfter(t);
        }
        try
        {
            using var response = await SendAsync(method, path, content, HttpCompletionOption.ResponseHeadersRead, retry, operation, cts.Token)
                .ConfigureAwait(false);
            await EnsureSuccessAsync(response, target, cts.Token).ConfigureAwait(false);
            return await read(response, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && cts.IsCancellationRequested)
        {
            throw TimeoutError(operation, timeout, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            throw Unreachable(operation, ex);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Func<HttpContent>? content,
                                                      HttpCompletionOption completion, bool retry, string operation, CancellationToken cancellationToken)
    {
        var requestId = method == HttpMethod.Get ? null : Guid.NewGuid().ToString("N");
        HttpRequestMessage Build()
        {
            var request = new HttpRequestMessage(method, path);
            if (requestId is not null)
            {
                request.Headers.TryAddWithoutValidation(ProtocolConstants.RequestIdHeader, requestId);
            }
            if (content is not null)
            {
                request.Content = content();
            }
            return request;
        }
        if (!retry || !_options.RetryTransportFailures)
        {
            using var single = Build();
            return await _http.SendAsync(single, completion, cancellationToken).ConfigureAwait(false);
        }
        return await ClientResilience.Transport.ExecuteAsync(async token =>
        {
            using var request = Build();
            return await _http.SendAsync(request, completion, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string? target, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        string? raw = null;
        ProblemDetails? problem = null;
        try
        {
            raw = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(raw) && raw.TrimStart().StartsWith('{'))
            {
                problem = JsonSerializer.Deserialize(raw, ClientJson.Read<ProblemDetails>());
            }
        }
        catch (JsonException)
        {
            // Not problem+json: the raw text goes into the message instead.
        }
        throw SandboxErrors.FromProblem((int)response.StatusCode, problem, raw, target ?? _target);
    }

    private async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> info, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await JsonSerializer.DeserializeAsync(stream, info, cancellationToken).ConfigureAwait(false)
                   ?? throw new JsonException("empty body");
        }
        catch (JsonException ex)
        {
            throw new SandboxException(SandboxErrorKind.Internal, SandboxErrorIds.SandboxProtocolError,
                $"The sandbox server's answer to '{operation}' could not be read: {ex.Message}", _target, ex);
        }
    }

    private async Task<Stream> OpenStreamAsync(string path, string operation, string target, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_options.RequestTimeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await SendAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseHeadersRead, true, operation, cts.Token).ConfigureAwait(false);
            await EnsureSuccessAsync(response, target, cts.Token).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ResponseStream(stream, response);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && cts.IsCancellationRequested)
        {
            response?.Dispose();
            throw TimeoutError(operation, _options.RequestTimeout, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            response?.Dispose();
            throw Unreachable(operation, ex);
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }

    private async IAsyncEnumerable<StreamEvent> StreamAsync(string path, Func<HttpContent> content, string operation, TimeSpan? timeout,
                                                            [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            cts.CancelAfter(t);
        }
        HttpResponseMessage response;
        StreamReader reader;
        try
        {
            response = await SendAsync(HttpMethod.Post, path, content, HttpCompletionOption.ResponseHeadersRead, true, operation, cts.Token)
                .ConfigureAwait(false);
            try
            {
                await EnsureSuccessAsync(response, null, cts.Token).ConfigureAwait(false);
                reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false), Encoding.UTF8);
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && cts.IsCancellationRequested)
        {
            throw TimeoutError(operation, timeout, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            throw Unreachable(operation, ex);
        }

        using (response)
        using (reader)
        {
            while (true)
            {
                StreamEvent? evt;
                try
                {
                    var line = await reader.ReadLineAsync(cts.Token).ConfigureAwait(false);
                    if (line is null)
                    {
                        throw new SandboxException(SandboxErrorKind.ProviderUnavailable, SandboxErrorIds.SandboxServerUnreachable,
                            $"The sandbox server ended the '{operation}' stream before its result (did the sandbox stop?).", _target)
                        {
                            RecommendedAction = SandboxErrors.RecommendedActionFor(SandboxErrorIds.SandboxServerUnreachable),
                        };
                    }
                    if (line.Length == 0)
                    {
                        continue;
                    }
                    evt = JsonSerializer.Deserialize(line, ClientJson.Read<StreamEvent>());
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && cts.IsCancellationRequested)
                {
                    throw TimeoutError(operation, timeout, ex);
                }
                catch (JsonException ex)
                {
                    throw new SandboxException(SandboxErrorKind.Internal, SandboxErrorIds.SandboxProtocolError,
                        $"The sandbox server sent an unreadable '{operation}' stream event: {ex.Message}", _target, ex);
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
                {
                    throw Unreachable(operation, ex);
                }
                if (evt is null)
                {
                    continue;
                }
                if (evt.Type == StreamEventTypes.Error)
                {
                    var problem = evt.Problem;
                    throw SandboxErrors.FromProblem(problem?.Status ?? 500, problem, null, _target);
                }
                yield return evt;
                if (evt.Type == StreamEventTypes.Exit)
                {
                    yield break;
                }
            }
        }
    }

    private SandboxException TimeoutError(string operation, TimeSpan? timeout, Exception inner) =>
        new(SandboxErrorKind.Timeout, SandboxErrorIds.SandboxRequestTimeout,
            $"The sandbox server did not finish '{operation}' within {(timeout is { } t ? DurationParser.Format(t) : "the time limit")} (sandbox {_target}).",
            _target, inner)
        {
            RecommendedAction = "Check that the sandbox is running (sandboxps ls); pass a larger timeout for long commands.",
        };

    private SandboxException Unreachable(string operation, Exception inner) =>
        new(SandboxErrorKind.ProviderUnavailable, SandboxErrorIds.SandboxServerUnreachable,
            $"The sandbox server at {Endpoint} cannot be reached for '{operation}': {inner.Message}", _target, inner)
        {
            RecommendedAction = SandboxErrors.RecommendedActionFor(SandboxErrorIds.SandboxServerUnreachable),
        };

    /// <summary>
    /// A read-only, non-seekable view of another stream that owns nothing: disposing it leaves the inner
    /// stream open (the base of <see cref="ResponseStream"/>, which adds the ownership).
    /// </summary>
    private class ReadOnlyView(Stream inner) : Stream
    {
        protected Stream Inner => inner;
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// A request body copied from the caller's stream (which it never disposes) in 256 KiB reads. A
    /// seekable stream's remaining length goes out as Content-Length, so the server takes the body as it
    /// arrives instead of parsing chunks (on a 100 MiB upload, chunks cost the server ≈ 50 ms more CPU).
    /// </summary>
    private sealed class UploadContent : HttpContent
    {
        private const int BufferSize = 256 * 1024;
        private readonly Stream _body;
        private readonly long? _length;

        public UploadContent(Stream body, long? length, string mediaType)
        {
            _body = body;
            _length = length;
            Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                long left = _length ?? long.MaxValue;
                while (left > 0)
                {
                    int n = await _body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        if (_length is not null)
                        {
                            throw new IOException($"The content stream ended {left} bytes short of its length ({_length} bytes from its position).");
                        }
                        break;
                    }
                    await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    left -= n;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length ?? 0;
            return _length is not null;
        }
    }

    /// <summary>A response body stream that disposes its body and its response with it.</summary>
    private sealed class ResponseStream(Stream inner, HttpResponseMessage response) : ReadOnlyView(inner)
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Inner.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
