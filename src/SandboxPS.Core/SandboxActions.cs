using SandboxPS.Protocol;

namespace SandboxPS.Core;

/// <summary>
/// Maps wire results to the objects users see (<see cref="SandboxActionResult"/>, <see cref="SandboxSession"/>).
/// Action names: <c>Command</c>, <c>Exec</c>, <c>Python</c>, <c>ReadFile</c>, <c>WriteFile</c>, <c>Edit</c>, <c>CopyTo</c>, <c>CopyFrom</c>.
/// </summary>
public static class SandboxActions
{
    /// <summary>A shell command run in a session.</summary>
    public const string Command = "Command";
    /// <summary>A one-shot exec.</summary>
    public const string Exec = "Exec";
    /// <summary>Code run in a python session.</summary>
    public const string Python = "Python";
    /// <summary>A file read.</summary>
    public const string ReadFile = "ReadFile";
    /// <summary>A file write.</summary>
    public const string WriteFile = "WriteFile";
    /// <summary>An edit (view, create, str_replace, insert, undo).</summary>
    public const string Edit = "Edit";
    /// <summary>A copy into the sandbox.</summary>
    public const string CopyTo = "CopyTo";
    /// <summary>A copy out of the sandbox.</summary>
    public const string CopyFrom = "CopyFrom";

    /// <summary>A session run; <paramref name="sessionKind"/> <c>python</c> makes it a Python action.</summary>
    public static SandboxActionResult FromRun(Sandbox sandbox, RunResult result, string? sessionKind = null) => new()
    {
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        SessionId = result.SessionId,
        Action = sessionKind == SessionKinds.Python ? Python : Command,
        ExitCode = result.ExitCode,
        Output = result.Output,
        Cwd = result.Cwd,
        TimedOut = result.TimedOut,
        Truncated = result.Truncated,
        Duration = TimeSpan.FromMilliseconds(result.DurationMs),
    };

    /// <summary>A one-shot exec; Output is stdout followed by stderr.</summary>
    public static SandboxActionResult FromExec(Sandbox sandbox, ExecResult result) => new()
    {
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        Action = Exec,
        ExitCode = result.ExitCode,
        Output = result.Stdout + result.Stderr,
        Stdout = result.Stdout,
        Stderr = result.Stderr,
        TimedOut = result.TimedOut,
        Truncated = result.Truncated,
        Duration = TimeSpan.FromMilliseconds(result.DurationMs),
    };

    /// <summary>A text read; Output is the content.</summary>
    public static SandboxActionResult FromReadText(Sandbox sandbox, FileTextResponse result, TimeSpan duration) => new()
    {
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        Action = ReadFile,
        Output = result.Content,
        Duration = duration,
    };

    /// <summary>A write or a copy into the sandbox (<paramref name="action"/> = WriteFile or CopyTo).</summary>
    public static SandboxActionResult FromWrite(Sandbox sandbox, WriteResponse result, TimeSpan duration, string action = WriteFile) => new()
    {
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        Action = action,
        Output = result.Entries > 0
            ? $"{result.Path}: {result.Entries} entries, {result.Bytes} bytes"
            : $"{result.Path}: {result.Bytes} bytes",
        Duration = duration,
    };

    /// <summary>An edit; Output is the diff of a change, or the server's text for a view.</summary>
    public static SandboxActionResult FromEdit(Sandbox sandbox, EditResponse result, TimeSpan duration) => new()
    {
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        Action = Edit,
        Output = string.IsNullOrEmpty(result.Diff) ? result.Output : result.Diff,
        Duration = duration,
    };

    /// <summary>A copy out of the sandbox.</summary>
    public static SandboxActionResult FromCopyFrom(Sandbox sandbox, string remotePath, string localPath, int entries, TimeSpan duration) => new()
    {
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        Action = CopyFrom,
        Output = $"{remotePath} -> {localPath}: {entries} entries",
        Duration = duration,
    };

    /// <summary>A session as users see it.</summary>
    public static SandboxSession ToSession(Sandbox sandbox, SessionInfo session) => new()
    {
        Id = session.Id,
        SandboxId = sandbox.Id,
        SandboxName = sandbox.Name,
        Kind = session.Kind,
        Cwd = session.Cwd,
        CreatedAt = session.CreatedAt,
        Busy = session.Busy,
    };
}
