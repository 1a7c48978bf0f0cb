using SandboxPS.Protocol;

namespace SandboxPS.Core;

/// <summary>Code to run in a session: a shell command line, or Python code (<see cref="Python"/>).</summary>
public sealed record SessionAction
{
    /// <summary>The shell command line or the Python code.</summary>
    public required string Code { get; init; }

    /// <summary>
    /// The session; null is the default shell session (replaced once when an earlier command ran <c>exit</c>),
    /// or for Python the <see cref="SandboxActionRunner.DefaultPythonSession"/> (started when missing or ended).
    /// </summary>
    public string? SessionId { get; init; }

    /// <summary>Run <see cref="Code"/> as Python (in a python session) rather than as a shell command line.</summary>
    public bool Python { get; init; }

    /// <summary>Seconds the server lets the command run before it interrupts it (the result then says TimedOut).</summary>
    public double? TimeoutSeconds { get; init; }

    /// <summary>Deliver output to the observer as it arrives (the result still carries all of it).</summary>
    public bool Stream { get; init; }

    /// <summary>
    /// Standard input for a shell command: read to its end, staged in a file in the sandbox, and redirected into the
    /// command, which still runs in the session (so <c>cd</c> and exports persist).
    /// </summary>
    public Stream? Stdin { get; init; }
}

/// <summary>What a front end is told while an action runs (from any thread).</summary>
public interface ISandboxActionObserver
{
    /// <summary>A chunk of output as it arrives (<see cref="SessionAction.Stream"/> or a streamed exec).</summary>
    /// <param name="isError">True for standard error of an exec (session output is one merged stream).</param>
    /// <param name="text">The chunk; not split at line ends.</param>
    void OnOutput(bool isError, string text);

    /// <summary>Something the runner did on the caller's behalf (a warning or a verbose note).</summary>
    void OnNotice(SandboxActionNotice notice);
}

/// <summary>What the runner did on the caller's behalf.</summary>
public enum SandboxActionNoticeKind
{
    /// <summary>The default session had ended (an earlier <c>exit</c>) and was replaced: a warning.</summary>
    DefaultSessionReplaced,

    /// <summary>The default Python session was started (first use, or after <c>exit()</c>): a verbose note.</summary>
    PythonSessionStarted,
}

/// <summary>A note from the runner, worded for any front end.</summary>
public sealed record SandboxActionNotice(SandboxActionNoticeKind Kind, string Message);

/// <summary>The names a front end gives the runner's inputs, for error messages and recommended actions.</summary>
public sealed record SandboxActionNames
{
    /// <summary>The parameter bounding an action's time (<c>-TimeoutSec</c>, <c>--timeout</c>).</summary>
    public string Timeout { get; init; } = "TimeoutSeconds";

    /// <summary>The parameter giving standard input (<c>--stdin</c>).</summary>
    public string Stdin { get; init; } = nameof(SessionAction.Stdin);

    /// <summary>The parameter naming a session (<c>-Session</c>, <c>--session</c>).</summary>
    public string Session { get; init; } = nameof(SessionAction.SessionId);
}

/// <summary>An edit's result as users see it, with the server's answer (its diff and path) for front ends that show them.</summary>
public sealed record SandboxEditResult(SandboxActionResult Result, EditResponse Response);
