using System.Text.Json.Serialization;

namespace SandboxPS.Protocol;

/// <summary><c>GET /health</c> (no auth).</summary>
public sealed record HealthResponse(string Status, string Version, int ProtocolVersion);

/// <summary><c>GET /v1/info</c>.</summary>
public sealed record InfoResponse
{
    public required string Os { get; init; }
    public required string Arch { get; init; }
    public required string User { get; init; }
    public int Uid { get; init; }
    public required string WorkDir { get; init; }
    public required string ServerVersion { get; init; }
    public int ProtocolVersion { get; init; } = ProtocolConstants.Version;
    public DateTimeOffset StartedAt { get; init; }
    public double UptimeSeconds { get; init; }
    public DateTimeOffset LastActivityAt { get; init; }
    public int SessionsInUse { get; init; }
    public int MaxSessions { get; init; }
    /// <summary>Seconds without requests after which the server exits; null = never.</summary>
    public double? IdleTimeoutSeconds { get; init; }
    /// <summary>When the server exits because its time to live ends; null = never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>The shell sessions use (e.g. <c>/bin/bash</c>); null when none was found.</summary>
    public string? Shell { get; init; }
    /// <summary>The python3 python sessions use; null when none was found.</summary>
    public string? Python { get; init; }
    public int Pid { get; init; }
}

/// <summary>Error body of every failed call (<c>application/problem+json</c>, RFC 9457).</summary>
public sealed record ProblemDetails
{
    public string Type { get; init; } = "about:blank";
    public required string Title { get; init; }
    public int Status { get; init; }
    public string? Detail { get; init; }
    /// <summary>A stable id from <see cref="ErrorIds"/>.</summary>
    public required string ErrorId { get; init; }
    public string? Instance { get; init; }
}

/// <summary><c>POST /v1/sessions</c>.</summary>
public sealed record CreateSessionRequest
{
    /// <summary><see cref="SessionKinds.Shell"/> (default) or <see cref="SessionKinds.Python"/>.</summary>
    public string? Kind { get; init; }
    /// <summary>Optional id chosen by the caller (letters, digits, '-', '_', '.'; at most 64).</summary>
    public string? Id { get; init; }
    public string? Cwd { get; init; }
    public Dictionary<string, string>? Env { get; init; }
}

/// <summary>A session as the server reports it.</summary>
public sealed record SessionInfo
{
    public required string Id { get; init; }
    public required string Kind { get; init; }
    public string? Cwd { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset LastUsedAt { get; init; }
    public bool Busy { get; init; }
    public bool Alive { get; init; }
    public int Pid { get; init; }
    /// <summary>The exit code of the session's process once it has ended (<see cref="Alive"/> false); null while alive.</summary>
    public int? ExitCode { get; init; }
}

/// <summary><c>GET /v1/sessions</c>.</summary>
public sealed record SessionList(IReadOnlyList<SessionInfo> Sessions);

/// <summary>
/// <c>POST /v1/sessions/{id}/run</c>: run a command (shell) or code (python) in a session.
/// With <c>stream=true</c> (query) the response is NDJSON <see cref="StreamEvent"/>s.
/// </summary>
public sealed record RunRequest
{
    public required string Command { get; init; }
    /// <summary>Seconds before the command is interrupted; null = the server's default (none).</summary>
    public double? TimeoutSeconds { get; init; }
    public int? MaxOutputBytes { get; init; }
}

/// <summary>Result of a session run.</summary>
public sealed record RunResult
{
    public required string SessionId { get; init; }
    public int ExitCode { get; init; }
    /// <summary>stdout and stderr merged as produced (UTF-8, invalid bytes replaced).</summary>
    public required string Output { get; init; }
    /// <summary>Working directory after the command (shell sessions).</summary>
    public string? Cwd { get; init; }
    public bool TimedOut { get; init; }
    public bool Interrupted { get; init; }
    public bool Truncated { get; init; }
    public double DurationMs { get; init; }
}

/// <summary><c>POST /v1/sessions/{id}/input</c>: bytes to the running command's stdin.</summary>
public sealed record InputRequest
{
    public string? Data { get; init; }
    /// <summary>Close the command's input after <see cref="Data"/> (sends Ctrl-D on a terminal).</summary>
    public bool Eof { get; init; }
}

/// <summary><c>POST /v1/exec</c>: a one-shot process, outside any session.</summary>
public sealed record ExecRequest
{
    /// <summary>Program and arguments, run without a shell. Exactly one of Argv or Shell.</summary>
    public IReadOnlyList<string>? Argv { get; init; }
    /// <summary>A shell line, run with <c>sh -c</c>.</summary>
    public string? Shell { get; init; }
    public string? Cwd { get; init; }
    public Dictionary<string, string>? Env { get; init; }
    /// <summary>Text written to the process's stdin, which is then closed.</summary>
    public string? Stdin { get; init; }
    /// <summary>
    /// A file in the sandbox streamed to the process's stdin (then closed); for large input (upload it
    /// with <c>PUT /v1/files</c> first). At most one of Stdin and StdinPath.
    /// </summary>
    public string? StdinPath { get; init; }
    public double? TimeoutSeconds { get; init; }
    public int? MaxOutputBytes { get; init; }
}

/// <summary>Result of a one-shot exec.</summary>
public sealed record ExecResult
{
    public int ExitCode { get; init; }
    public required string Stdout { get; init; }
    public required string Stderr { get; init; }
    public bool TimedOut { get; init; }
    public bool Truncated { get; init; }
    public double DurationMs { get; init; }
}

/// <summary>One line of an NDJSON stream.</summary>
public sealed record StreamEvent
{
    /// <summary>One of <see cref="StreamEventTypes"/>.</summary>
    public required string Type { get; init; }
    /// <summary>Text of output events.</summary>
    public string? Data { get; init; }
    /// <summary>On the <c>exit</c> event of a session run.</summary>
    public RunResult? Run { get; init; }
    /// <summary>On the <c>exit</c> event of an exec.</summary>
    public ExecResult? Exec { get; init; }
    /// <summary>On <c>error</c> events.</summary>
    public ProblemDetails? Problem { get; init; }
}

/// <summary><c>GET /v1/files/text</c>: a text file or a range of its lines.</summary>
public sealed record FileTextResponse
{
    public required string Path { get; init; }
    public required string Content { get; init; }
    /// <summary>1-based first line returned.</summary>
    public int StartLine { get; init; }
    /// <summary>1-based last line returned.</summary>
    public int EndLine { get; init; }
    public int TotalLines { get; init; }
}

/// <summary>File metadata (<c>GET /v1/files/stat</c>, and entries of a listing).</summary>
public sealed record FileEntry
{
    public required string Name { get; init; }
    public required string Path { get; init; }
    /// <summary><c>file</c>, <c>directory</c>, <c>symlink</c> or <c>other</c>.</summary>
    public required string Type { get; init; }
    public long Size { get; init; }
    /// <summary>Unix permission bits, e.g. 420 (0644).</summary>
    public int Mode { get; init; }
    public DateTimeOffset ModifiedAt { get; init; }
    public string? LinkTarget { get; init; }
}

/// <summary><c>GET /v1/files/list</c>.</summary>
public sealed record FileListResponse(string Path, IReadOnlyList<FileEntry> Entries);

/// <summary><c>PUT /v1/files</c> and <c>PUT /v1/archive</c>.</summary>
public sealed record WriteResponse
{
    public required string Path { get; init; }
    public long Bytes { get; init; }
    public int Entries { get; init; }
}

/// <summary><c>POST /v1/edit</c>: the editor of coding agents (view, create, str_replace, insert, undo).</summary>
public sealed record EditRequest
{
    /// <summary>One of <see cref="EditCommands"/>.</summary>
    public required string Command { get; init; }
    public required string Path { get; init; }
    public string? FileText { get; init; }
    public string? OldStr { get; init; }
    public string? NewStr { get; init; }
    public int? InsertLine { get; init; }
    /// <summary>For view: [first, last] 1-based lines; last = -1 for the end.</summary>
    public int[]? ViewRange { get; init; }
}

/// <summary>Result of an edit.</summary>
public sealed record EditResponse
{
    public required string Path { get; init; }
    public required string Command { get; init; }
    /// <summary>For view: the numbered text; for changes: a short message.</summary>
    public required string Output { get; init; }
    /// <summary>Unified diff of the change (empty for view).</summary>
    public string? Diff { get; init; }
}

/// <summary>Source-generated JSON metadata for every wire type (AOT and trimming safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(InfoResponse))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(CreateSessionRequest))]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(RunRequest))]
[JsonSerializable(typeof(RunResult))]
[JsonSerializable(typeof(InputRequest))]
[JsonSerializable(typeof(ExecRequest))]
[JsonSerializable(typeof(ExecResult))]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(FileTextResponse))]
[JsonSerializable(typeof(FileEntry))]
[JsonSerializable(typeof(FileListResponse))]
[JsonSerializable(typeof(WriteResponse))]
[JsonSerializable(typeof(EditRequest))]
[JsonSerializable(typeof(EditResponse))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext;
