using System.Net;
using SandboxPS.Protocol;

namespace SandboxPS.Core;

/// <summary>Maps server answers to <see cref="SandboxException"/>s: one table, used by every client call.</summary>
public static class SandboxErrors
{
    /// <summary>The exception kind for an HTTP status.</summary>
    public static SandboxErrorKind KindFromStatus(int status) => status switch
    {
        400 or 422 => SandboxErrorKind.InvalidArgument,
        401 or 403 => SandboxErrorKind.Unauthorized,
        404 or 410 => SandboxErrorKind.NotFound,
        408 or 504 => SandboxErrorKind.Timeout,
        409 or 412 or 423 => SandboxErrorKind.Conflict,
        429 => SandboxErrorKind.QuotaExceeded,
        501 => SandboxErrorKind.NotSupported,
        502 or 503 => SandboxErrorKind.ProviderUnavailable,
        _ => SandboxErrorKind.Internal,
    };

    /// <summary>
    /// Builds the exception for a failed call: <c>ErrorId</c> from the problem body (or
    /// <c>Http&lt;StatusName&gt;</c> when the body is not problem+json), kind from the status, message from
    /// the problem's detail or title, and a recommended action for the ids that have a known fix.
    /// </summary>
    public static SandboxException FromProblem(int status, ProblemDetails? problem, string? rawBody = null, string? target = null)
    {
        var errorId = !string.IsNullOrWhiteSpace(problem?.ErrorId)
            ? problem!.ErrorId
            : "Http" + (Enum.IsDefined(typeof(HttpStatusCode), status) ? ((HttpStatusCode)status).ToString() : status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var message = problem?.Detail ?? problem?.Title;
        if (string.IsNullOrWhiteSpace(message))
        {
            var body = rawBody?.Trim();
            message = string.IsNullOrEmpty(body)
                ? $"The sandbox server answered HTTP {status}."
                : $"The sandbox server answered HTTP {status}: {(body.Length > 500 ? body[..500] + "…" : body)}";
        }
        return new SandboxException(KindFromStatus(status), errorId, message, target)
        {
            RecommendedAction = RecommendedActionFor(errorId),
        };
    }

    /// <summary>A known fix for a server or core error id; null when there is none.</summary>
    public static string? RecommendedActionFor(string errorId) => errorId switch
    {
        ErrorIds.Unauthorized => "The token does not match this sandbox's server; it may have been re-created. Look it up again (sandboxps ls).",
        ErrorIds.CapacityReached => "Remove a session (sandboxps session rm) or create the sandbox with a larger --max-sessions.",
        ErrorIds.SessionBusy => "Wait for the running command to end, or interrupt it.",
        ErrorIds.SessionExited => "The session's process has ended; create a new session (sandboxps session new).",
        ErrorIds.SessionNotFound => "List the sessions with 'sandboxps session ls SANDBOX'.",
        ErrorIds.PythonNotAvailable => "Use an image or runtime with python3, or a shell session.",
        ErrorIds.EditNoMatch => "View the file and pass the exact text, whitespace and line breaks included.",
        ErrorIds.EditAmbiguous => "Add surrounding lines to the old text so that it matches exactly once.",
        ErrorIds.RequestInProgress => "The same request is still running; wait for it.",
        ErrorIds.NotARegularFile => "Read a FIFO or device with a command in a session (e.g. head -c N PATH), or pass a length to read N bytes of a device.",
        SandboxErrorIds.SandboxServerUnreachable => "Check that the sandbox is running (sandboxps ls); a sandbox past its TTL or idle timeout has exited.",
        _ => null,
    };
}
