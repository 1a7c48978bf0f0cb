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
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };

    /// <summary>Reads a JSON body; malformed JSON, unknown fields or a missing body → 400 InvalidRequest.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonTypeInfo<T> type, bool allowEmpty = false) where T : class
    {
        if (allowEmpty && request.ContentLength is 0 or null && !request.Headers.ContainsKey("Transfer-Encoding"))
        {
            return JsonSerializer.Deserialize("{}", type)!;
        }
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"The request body is not a valid {type.Type.Name}: {ex.Message}");
        }
        catch (BadHttpRequestException ex)
        {
            throw new ApiException(ex.StatusCode, ErrorIds.InvalidRequest, ex.Message);
        }
        return value ?? throw ApiException.BadRequest($"The request body must be a JSON object ({type.Type.Name}), not null.");
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
