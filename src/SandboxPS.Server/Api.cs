using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>A failure that becomes a problem+json answer with a stable error id.</summary>
internal sealed class ApiException(int status, string errorId, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string ErrorId { get; } = errorId;

    public static ApiException BadRequest(string detail) => new(400, ErrorIds.InvalidRequest, detail);

    /// <summary>The largest output capture a call may ask for (maxOutputBytes); streams are not capped.</summary>
    public const int MaxOutputCap = 64 * 1024 * 1024;

    public static void CheckMaxOutput(int? maxOutputBytes)
    {
        if (maxOutputBytes is < 0 or > MaxOutputCap)
        {
            throw BadRequest($"maxOutputBytes must be between 0 and {MaxOutputCap} (64 MiB); got {maxOutputBytes}. Stream (?stream=true) or redirect to a file for more.");
        }
    }

    /// <summary>The least timeout a run or exec takes: less cannot mean anything (it ends before a process could start).</summary>
    public const double MinTimeoutSeconds = 0.01;

    /// <summary>400 InvalidRequest unless the timeout is absent or between 0.01 s and 10^7 s (NaN and infinities included).</summary>
    public static void CheckTimeout(double? timeoutSeconds)
    {
        if (timeoutSeconds is { } t && !(t >= MinTimeoutSeconds && t <= 1e7))
        {
            throw BadRequest(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"timeoutSeconds must be between {MinTimeoutSeconds} (10 ms) and 10000000 seconds, or left out for no timeout; got {t}."));
        }
    }

    public ProblemDetails ToProblem(string? instance = null) => Api.Problem(Status, ErrorId, Message, instance);
}

/// <summary>An answer to store and replay: status, media type and body bytes (null body = no content).</summary>
internal record Reply(int Status, string? ContentType, byte[]? Body)
{
    /// <summary>The handler wrote the response itself (streams, files); nothing to store.</summary>
    public static readonly Reply Written = new(0, null, null);

    public static readonly Reply NoContent = new(204, null, null);

    public static Reply Json<T>(T value, JsonTypeInfo<T> type, int status = 200) =>
        new(status, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(value, type));

    public static Reply Problem(ApiException ex, string? instance) =>
        new(ex.Status, ProtocolConstants.ProblemMediaType, JsonSerializer.SerializeToUtf8Bytes(ex.ToProblem(instance), ProtocolJsonContext.Default.ProblemDetails));

    public async Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = Status;
        if (Body is null)
        {
            return;
        }
        response.ContentType = ContentType;
        response.ContentLength = Body.Length;
        await response.Body.WriteAsync(Body);
    }
}

internal static class Api
{
    public static ProblemDetails Problem(int status, string errorId, string detail, string? instance = null) => new()
    {
        Title = Title(status),
        Status = status,
        Detail = detail,
        ErrorId = errorId,
        Instance = instance,
    };

    private static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };

    /// <summary>
    /// Reads a JSON body (bounded, RequestBody); malformed JSON, invalid UTF-8, unknown fields, a
    /// missing body or null where a value is required → 400 InvalidRequest; too large → 413 RequestTooLarge.
    /// </summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonTypeInfo<T> type, bool allowEmpty = false) where T : class
    {
        var body = await RequestBody.ReadJsonAsync(request.HttpContext);
        if (allowEmpty && body.Length == 0)
        {
            return JsonSerializer.Deserialize("{}", type)!;
        }
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"The request body is not a valid {type.Type.Name}: {ex.Message}");
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or FormatException or OverflowException)
        {
            // Invalid UTF-8 in a string and similar decoding failures.
            throw ApiException.BadRequest($"The request body is not a valid {type.Type.Name}: {ex.Message}");
        }
        if (value is null)
        {
            throw ApiException.BadRequest($"The request body must be a JSON object ({type.Type.Name}), not null.");
        }
        RequireValues(value);
        return value;
    }

    /// <summary>Fields the records declare non-null but JSON can still set to null: a clear 400 naming the field.</summary>
    private static void RequireValues(object value)
    {
        static ApiException Null(string field, string what) =>
            ApiException.BadRequest($"'{field}' must be {what}, not null.");
        switch (value)
        {
            case SandboxPS.Protocol.RunRequest { Command: null }:
                throw Null("command", "a string (the command text)");
            case SandboxPS.Protocol.EditRequest { Command: null }:
                throw Null("command", "one of view, create, str_replace, insert, undo");
            case SandboxPS.Protocol.EditRequest { Path: null }:
                throw Null("path", "a string");
            case SandboxPS.Protocol.ExecRequest exec:
                RequireEnv(exec.Env);
                break;
            case SandboxPS.Protocol.CreateSessionRequest create:
                RequireEnv(create.Env);
                break;
        }
    }

    private static void RequireEnv(Dictionary<string, string>? env)
    {
        foreach (var (k, v) in env ?? [])
        {
            if (v is null)
            {
                throw ApiException.BadRequest($"The environment variable '{k}' has a null value in 'env'; give a string (\"\" for an empty value) or leave the name out.");
            }
        }
    }

    public static string RequiredQuery(HttpRequest request, string name)
    {
        var value = request.Query[name];
        if (value.Count == 0 || string.IsNullOrEmpty(value[0]))
        {
            throw new ApiException(400, name == "path" ? ErrorIds.InvalidPath : ErrorIds.InvalidRequest,
                $"The query parameter '{name}' is required.");
        }
        return value[0]!;
    }

    public static long? QueryLong(HttpRequest request, string name, long min = 0)
    {
        var value = request.Query[name];
        if (value.Count == 0 || string.IsNullOrEmpty(value[0]))
        {
            return null;
        }
        if (!long.TryParse(value[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < min)
        {
            throw ApiException.BadRequest($"The query parameter '{name}' must be an integer ≥ {min}; got '{value[0]}'.");
        }
        return n;
    }

    public static bool QueryBool(HttpRequest request, string name, bool defaultValue)
    {
        var value = request.Query[name];
        if (value.Count == 0 || string.IsNullOrEmpty(value[0]))
        {
            return defaultValue;
        }
        return value[0]!.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw ApiException.BadRequest($"The query parameter '{name}' must be true or false; got '{value[0]}'."),
        };
    }
}

/// <summary>The response was streamed already; this reply is only stored for X-Request-Id replay.</summary>
internal sealed record StoredAfterStream(Reply Stored) : Reply(Stored.Status, Stored.ContentType, Stored.Body);
