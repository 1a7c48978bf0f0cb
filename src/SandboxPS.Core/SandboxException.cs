namespace SandboxPS.Core;

/// <summary>What kind of failure a <see cref="SandboxException"/> is; the cmdlet layer maps it to an ErrorCategory.</summary>
public enum SandboxErrorKind
{
    /// <summary>A sandbox, session or path does not exist.</summary>
    NotFound,
    /// <summary>A name or id is taken.</summary>
    AlreadyExists,
    /// <summary>A parameter or option is invalid; the message names it.</summary>
    InvalidArgument,
    /// <summary>The sandbox is not ready (yet) or has stopped.</summary>
    NotReady,
    /// <summary>A named, bounded wait ran out.</summary>
    Timeout,
    /// <summary>The provider (Docker engine, cloud API) or the in-sandbox server cannot be reached.</summary>
    ProviderUnavailable,
    /// <summary>Credentials or token rejected.</summary>
    Unauthorized,
    /// <summary>The target is in a state that forbids the call (busy session, name conflict).</summary>
    Conflict,
    /// <summary>A capacity or quota is reached.</summary>
    QuotaExceeded,
    /// <summary>An action ran and failed (e.g. non-zero exit with -ErrorOnNonZeroExit).</summary>
    ActionFailed,
    /// <summary>The provider cannot do this.</summary>
    NotSupported,
    /// <summary>A bug or an unexpected answer.</summary>
    Internal,
}

/// <summary>
/// The one exception type of SandboxPS.Core. <see cref="ErrorId"/> is stable (PascalCase, no spaces)
/// and is what scripts and tests branch on; the message is for people.
/// </summary>
public class SandboxException : Exception
{
    /// <summary>Creates an exception; keep <paramref name="innerException"/> whenever there is one.</summary>
    public SandboxException(SandboxErrorKind kind, string errorId, string message,
                            string? target = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        ErrorId = errorId;
        Target = target;
    }

    /// <summary>The failure kind.</summary>
    public SandboxErrorKind Kind { get; }

    /// <summary>Stable id, e.g. <c>SandboxNotFound</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The sandbox id or name, session id or path concerned, when there is one.</summary>
    public string? Target { get; }

    /// <summary>What the user can do about it, when a fix is known.</summary>
    public string? RecommendedAction { get; init; }
}

/// <summary>
/// A sandbox stopped or failed while we waited for it or used it. Carries its exit code and the last
/// lines it printed, so the cause is visible without digging.
/// </summary>
public sealed class SandboxNotRunningException : SandboxException
{
    /// <summary>Creates the exception.</summary>
    public SandboxNotRunningException(string target, string message, int? exitCode,
                                      IReadOnlyList<string> lastLogLines, Exception? innerException = null)
        : base(SandboxErrorKind.NotReady, "SandboxNotRunning", message, target, innerException)
    {
        ExitCode = exitCode;
        LastLogLines = lastLogLines;
    }

    /// <summary>Exit code of the sandbox's main process, when known.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines the sandbox printed (server output, container logs).</summary>
    public IReadOnlyList<string> LastLogLines { get; }
}
