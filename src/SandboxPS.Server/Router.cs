using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// The whole HTTP surface: auth, the request-id store, routing by path segments and error mapping.
/// Plain RequestDelegate code (no MVC, no reflection) keeps the static binary small and starts fast.
/// </summary>
internal static class Router
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public static async Task HandleAsync(HttpContext ctx, ServerState state)
    {
        state.Touch();
        Interlocked.Increment(ref state.ActiveRequests);
        var request = ctx.Request;
        string? requestId = null;
        bool largeBody = false;
        try
        {
            var path = request.Path.Value ?? "/";
            if (path == "/health")
            {
                RequireMethod(request, "GET");
                await Reply.Json(new HealthResponse("ok", state.Version, ProtocolConstants.Version), ProtocolJsonContext.Default.HealthResponse)
                    .WriteAsync(ctx.Response);
                return;
            }
            if (!Authorized(request, state.Token))
            {
                throw new ApiException(401, ErrorIds.Unauthorized,
                    "Missing or wrong bearer token: send 'Authorization: Bearer <token>' with the sandbox's token.");
            }
            var route = Match(path, request.Method);
            string fingerprint = "";
            if (route.JsonBody)
            {
                // RequestBody enforces JsonLimit itself (Kestrel's limit is off: it reads an oversized body away, so the 413 arrives).
                // Read whole (bounded) before anything runs: a retry is told from a different request by its body.
                var body = await RequestBody.ReadJsonAsync(ctx);
                largeBody = body.Length >= RequestBody.LargeBody;
                fingerprint = RequestBody.Fingerprint(body);
            }
            if (route.Storable && request.Headers.TryGetValue(ProtocolConstants.RequestIdHeader, out var rid) && rid.Count > 0)
            {
                var id = rid[0]!;
                if (!RequestIdStore.IsValidId(id))
                {
                    throw ApiException.BadRequest($"{ProtocolConstants.RequestIdHeader} must be 1-128 visible ASCII characters.");
                }
                var replay = state.Requests.Begin(id, request.Method + " " + path + request.QueryString, fingerprint);
                if (replay is not null)
                {
                    ctx.Response.Headers["X-Replayed"] = "true";
                    await replay.WriteAsync(ctx.Response);
                    return;
                }
                requestId = id;
            }
            Reply reply;
            try
            {
                reply = await route.Handler(ctx, state, route.Args, requestId);
            }
            catch (ApiException ex) when (requestId is not null)
            {
                // Failures are answers too: a retry gets the same failure, and nothing ran twice.
                var problem = Reply.Problem(ex, path);
                state.Requests.Complete(requestId, problem);
                requestId = null;
                throw;
            }
            if (requestId is not null)
            {
                if (ReferenceEquals(reply, Reply.Written))
                {
                    state.Requests.Abandon(requestId);
                }
                else
                {
                    state.Requests.Complete(requestId, reply is StoredAfterStream stored ? stored.Stored : reply);
                }
                requestId = null;
            }
            if (!ReferenceEquals(reply, Reply.Written) && reply is not StoredAfterStream && !ctx.RequestAborted.IsCancellationRequested)
            {
                await reply.WriteAsync(ctx.Response);
            }
        }
        catch (ApiException ex)
        {
            await TryWriteProblem(ctx, ex);
        }
        catch (BadHttpRequestException ex)
        {
            await TryWriteProblem(ctx, new ApiException(ex.StatusCode, ErrorIds.InvalidRequest, ex.Message));
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            if (!state.Options.Quiet)
            {
                Console.Error.WriteLine($"sandboxps-server: {request.Method} {request.Path}: {ex}");
            }
            await TryWriteProblem(ctx, new ApiException(500, ErrorIds.InternalError, "Unexpected server error: " + ex.Message));
        }
        finally
        {
            if (requestId is not null)
            {
                state.Requests.Abandon(requestId);
            }
            Interlocked.Decrement(ref state.ActiveRequests);
            state.Touch();
            if (largeBody)
            {
                RequestBody.GiveBackMemorySoon();
            }
        }
    }

    private static async Task TryWriteProblem(HttpContext ctx, ApiException ex)
    {
        if (ctx.Response.HasStarted || ctx.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        try
        {
            ctx.Response.Headers.Clear();
            if (ex.Status == 401)
            {
                ctx.Response.Headers.WWWAuthenticate = "Bearer";
            }
            await Reply.Problem(ex, ctx.Request.Path.Value).WriteAsync(ctx.Response);
        }
        catch (Exception)
        {
            // Nothing more to do for a broken connection.
        }
    }

    private static bool Authorized(HttpRequest request, byte[] token)
    {
        var header = request.Headers.Authorization;
        if (header.Count != 1)
        {
            return false;
        }
        var value = header[0] ?? "";
        const string prefix = "Bearer ";
        if (!value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var presented = Encoding.UTF8.GetBytes(value[prefix.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, token);
    }

    private static void RequireMethod(HttpRequest request, params string[] methods)
    {
        if (!methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase))
        {
            throw new ApiException(405, ErrorIds.MethodNotAllowed,
                $"{request.Method} is not allowed on {request.Path}; use {string.Join(" or ", methods)}.");
        }
    }

    private delegate Task<Reply> Handler(HttpContext ctx, ServerState state, string[] args, string? requestId);

    private readonly record struct Route(Handler Handler, string[] Args, bool Storable, bool JsonBody);

    private static Route Match(string path, string method)
    {
        var seg = path.Trim('/').Split('/');
        static ApiException NotAllowed(string method, string path, string allowed) =>
            new(405, ErrorIds.MethodNotAllowed, $"{method} is not allowed on {path}; use {allowed}.");
        if (seg.Length >= 2 && seg[0] == "v1")
        {
            switch (seg[1])
            {
                case "info" when seg.Length == 2:
                    return method == "GET" ? new(Info, [], false, false) : throw NotAllowed(method, path, "GET");
                case "shutdown" when seg.Length == 2:
                    return method == "POST" ? new(Shutdown, [], true, false) : throw NotAllowed(method, path, "POST");
                case "exec" when seg.Length == 2:
                    return method == "POST" ? new(Exec, [], true, true) : throw NotAllowed(method, path, "POST");
                case "edit" when seg.Length == 2:
                    return method == "POST" ? new(FileRoutes.Edit, [], true, true) : throw NotAllowed(method, path, "POST");
                case "archive" when seg.Length == 2:
                    return method switch
                    {
                        "GET" => new(ArchiveRoutes.Download, [], false, false),
                        "PUT" => new(ArchiveRoutes.Upload, [], false, false),
                        _ => throw NotAllowed(method, path, "GET or PUT"),
                    };
                case "files" when seg.Length == 2:
                    return method switch
                    {
                        "GET" => new(FileRoutes.ReadRaw, [], false, false),
                        "PUT" => new(FileRoutes.Write, [], false, false),
                        "DELETE" => new(FileRoutes.Delete, [], true, false),
                        _ => throw NotAllowed(method, path, "GET, PUT or DELETE"),
                    };
                case "files" when seg.Length == 3 && seg[2] is "text" or "stat" or "list":
                    if (method != "GET") throw NotAllowed(method, path, "GET");
                    return seg[2] switch
                    {
                        "text" => new(FileRoutes.ReadText, [], false, false),
                        "stat" => new(FileRoutes.Stat, [], false, false),
                        _ => new(FileRoutes.List, [], false, false),
                    };
                case "sessions" when seg.Length == 2:
                    return method switch
                    {
                        "GET" => new(ListSessions, [], false, false),
                        "POST" => new(CreateSession, [], true, true),
                        _ => throw NotAllowed(method, path, "GET or POST"),
                    };
                case "sessions" when seg.Length == 3:
                    return method switch
                    {
                        "GET" => new(GetSession, [seg[2]], false, false),
                        "DELETE" => new(DeleteSession, [seg[2]], true, false),
                        _ => throw NotAllowed(method, path, "GET or DELETE"),
                    };
                case "sessions" when seg.Length == 4 && seg[3] is "run" or "input" or "interrupt":
                    if (method != "POST") throw NotAllowed(method, path, "POST");
                    return seg[3] switch
                    {
                        "run" => new(RunInSession, [seg[2]], true, true),
                        "input" => new(Input, [seg[2]], true, true),
                        _ => new(Interrupt, [seg[2]], true, false),
                    };
            }
        }
        throw new ApiException(404, ErrorIds.RouteNotFound, $"No route {method} {path}. See docs/protocol.md for the routes of protocol v1.");
    }

    private static Task<Reply> Info(HttpContext ctx, ServerState state, string[] args, string? rid) =>
        Task.FromResult(Reply.Json(state.Info(), ProtocolJsonContext.Default.InfoResponse));

    private static Task<Reply> Shutdown(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        // Answer first, then stop.
        _ = Task.Delay(100).ContinueWith(_ => state.Stopping.Cancel(), TaskScheduler.Default);
        return Task.FromResult(new Reply(202, null, null));
    }

    private static Task<Reply> ListSessions(HttpContext ctx, ServerState state, string[] args, string? rid) =>
        Task.FromResult(Reply.Json(new SessionList(state.Sessions.All.Select(s => s.ToInfo()).ToList()), ProtocolJsonContext.Default.SessionList));

    private static Task<Reply> GetSession(HttpContext ctx, ServerState state, string[] args, string? rid) =>
        Task.FromResult(Reply.Json(state.Sessions.Get(args[0]).ToInfo(), ProtocolJsonContext.Default.SessionInfo));

    private static Task<Reply> DeleteSession(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        state.Sessions.Delete(args[0]);
        return Task.FromResult(Reply.NoContent);
    }

    private static async Task<Reply> CreateSession(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var request = await Api.ReadJsonAsync(ctx.Request, ProtocolJsonContext.Default.CreateSessionRequest, allowEmpty: true);
        var session = await state.Sessions.CreateAsync(request);
        return Reply.Json(session.ToInfo(), ProtocolJsonContext.Default.SessionInfo, 201);
    }

    private static async Task<Reply> RunInSession(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var request = await Api.ReadJsonAsync(ctx.Request, ProtocolJsonContext.Default.RunRequest);
        bool stream = Api.QueryBool(ctx.Request, "stream", false);
        var session = await state.Sessions.GetOrCreateDefaultAsync(args[0]);
        var run = session.Start(request, stream);
        if (!stream)
        {
            // Not tied to the request: a client that gives up does not stop the command, and a
            // retry with the same X-Request-Id gets this result.
            var result = await run.Completion;
            return Reply.Json(result, ProtocolJsonContext.Default.RunResult);
        }
        await StreamRunAsync(ctx, run);
        var final = await run.Completion;
        return rid is null ? Reply.Written : StoreOnly(Reply.Json(final, ProtocolJsonContext.Default.RunResult));
    }

    /// <summary>A reply kept for X-Request-Id replay although the response was already streamed.</summary>
    private static Reply StoreOnly(Reply reply) => new StoredAfterStream(reply);

    private static async Task StreamRunAsync(HttpContext ctx, Session.Run run)
    {
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = ProtocolConstants.NdjsonMediaType;
        response.Headers.CacheControl = "no-cache";
        var decoder = Encoding.UTF8.GetDecoder();
        try
        {
            await response.StartAsync(ctx.RequestAborted);
            await response.Body.FlushAsync(ctx.RequestAborted);
            var reader = run.Stream!;
            while (await reader.WaitToReadAsync(ctx.RequestAborted))
            {
                var sb = new StringBuilder();
                while (reader.TryRead(out var chunk))
                {
                    var chars = new char[decoder.GetCharCount(chunk, flush: false)];
                    decoder.GetChars(chunk, chars, flush: false);
                    sb.Append(chars);
                    if (sb.Length > 64 * 1024)
                    {
                        break;
                    }
                }
                if (sb.Length > 0)
                {
                    await WriteEventAsync(response, new StreamEvent { Type = StreamEventTypes.Output, Data = sb.ToString() }, ctx.RequestAborted);
                }
            }
            var result = await run.Completion;
            await WriteEventAsync(response, new StreamEvent { Type = StreamEventTypes.Exit, Run = result }, ctx.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client left: the command keeps running to its end; the session frees itself then.
            run.DetachStream();
        }
        catch (Exception ex)
        {
            run.DetachStream();
            await TryWriteErrorEventAsync(ctx, ex);
        }
    }

    /// <summary>After the stream began a problem can only travel as an <c>error</c> event.</summary>
    private static async Task TryWriteErrorEventAsync(HttpContext ctx, Exception ex)
    {
        var problem = ex is ApiException api ? api.ToProblem(ctx.Request.Path.Value)
            : Api.Problem(500, ErrorIds.InternalError, "Unexpected server error: " + ex.Message, ctx.Request.Path.Value);
        try
        {
            await WriteEventAsync(ctx.Response, new StreamEvent { Type = StreamEventTypes.Error, Problem = problem }, ctx.RequestAborted);
        }
        catch (Exception)
        {
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, StreamEvent e, CancellationToken ct)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(e, ProtocolJsonContext.Default.StreamEvent);
        await response.Body.WriteAsync(bytes, ct);
        await response.Body.WriteAsync(NewLine, ct);
        await response.Body.FlushAsync(ct);
    }

    private static async Task<Reply> Input(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var request = await Api.ReadJsonAsync(ctx.Request, ProtocolJsonContext.Default.InputRequest);
        state.Sessions.Get(args[0]).SendInput(request);
        return Reply.NoContent;
    }

    private static Task<Reply> Interrupt(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        state.Sessions.Get(args[0]).Interrupt();
        return Task.FromResult(Reply.NoContent);
    }

    private static async Task<Reply> Exec(HttpContext ctx, ServerState state, string[] args, string? rid)
    {
        var request = await Api.ReadJsonAsync(ctx.Request, ProtocolJsonContext.Default.ExecRequest);
        bool stream = Api.QueryBool(ctx.Request, "stream", false);
        request = ExecRunner.Normalize(state, request);
        var process = ExecRunner.Start(state, request);
        if (!stream)
        {
            var result = await ExecRunner.RunAsync(process, request, null, ctx.RequestAborted);
            return Reply.Json(result, ProtocolJsonContext.Default.ExecResult);
        }
        var events = Channel.CreateBounded<StreamEvent>(new BoundedChannelOptions(256) { SingleReader = true });
        var running = ExecRunner.RunAsync(process, request, events.Writer, ctx.RequestAborted);
        _ = running.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = ProtocolConstants.NdjsonMediaType;
        response.Headers.CacheControl = "no-cache";
        try
        {
            await response.StartAsync(ctx.RequestAborted);
            await response.Body.FlushAsync(ctx.RequestAborted);
            await foreach (var e in events.Reader.ReadAllAsync(ctx.RequestAborted))
            {
                await WriteEventAsync(response, e, ctx.RequestAborted);
            }
            var result = await running;
            await WriteEventAsync(response, new StreamEvent { Type = StreamEventTypes.Exit, Exec = result }, ctx.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            events.Writer.TryComplete();
            while (events.Reader.TryRead(out _))
            {
            }
        }
        catch (Exception ex)
        {
            events.Writer.TryComplete();
            while (events.Reader.TryRead(out _))
            {
            }
            await TryWriteErrorEventAsync(ctx, ex);
            throw;
        }
        var final = await running;
        return rid is null ? Reply.Written : StoreOnly(Reply.Json(final, ProtocolJsonContext.Default.ExecResult));
    }
}
