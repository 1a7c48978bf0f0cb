namespace SandboxPS.Protocol;

/// <summary>Versions, header names and media types of wire protocol v1 (docs/protocol.md).</summary>
public static class ProtocolConstants
{
    /// <summary>The wire protocol version this build speaks. Routes live under <c>/v1</c>.</summary>
    public const int Version = 1;

    /// <summary>Header that makes a non-GET request idempotent: a repeated id replays the stored response.</summary>
    public const string RequestIdHeader = "X-Request-Id";

    /// <summary>Environment variable that hands the bearer token to the server.</summary>
    public const string TokenEnvironmentVariable = "SANDBOXPS_TOKEN";

    /// <summary>Media type of streamed responses: one JSON <see cref="StreamEvent"/> per line.</summary>
    public const string NdjsonMediaType = "application/x-ndjson";

    /// <summary>Media type of error bodies.</summary>
    public const string ProblemMediaType = "application/problem+json";

    /// <summary>Media type of tar streams (archive upload and download).</summary>
    public const string TarMediaType = "application/x-tar";

    /// <summary>Name of the default shell session, used when a call names no session.</summary>
    public const string DefaultSessionId = "default";

    /// <summary>Default cap on captured output per call (bytes); longer output is truncated and flagged.</summary>
    public const int DefaultMaxOutputBytes = 1024 * 1024;
}

/// <summary>Session kinds.</summary>
public static class SessionKinds
{
    /// <summary>A persistent shell (bash when present, else sh).</summary>
    public const string Shell = "shell";

    /// <summary>A persistent python3 interpreter.</summary>
    public const string Python = "python";
}

/// <summary>Stream event types (the <c>type</c> field of <see cref="StreamEvent"/>).</summary>
public static class StreamEventTypes
{
    /// <summary>Output of a session command (stdout and stderr merged, as a terminal shows them).</summary>
    public const string Output = "output";

    /// <summary>Standard output of a one-shot exec.</summary>
    public const string Stdout = "stdout";

    /// <summary>Standard error of a one-shot exec.</summary>
    public const string Stderr = "stderr";

    /// <summary>The last event: carries the final result.</summary>
    public const string Exit = "exit";

    /// <summary>A failure after streaming began: carries a problem.</summary>
    public const string Error = "error";
}

/// <summary>Edit commands of <c>POST /v1/edit</c>.</summary>
public static class EditCommands
{
    /// <summary>Show a file with line numbers (or a directory listing).</summary>
    public const string View = "view";

    /// <summary>Create a file; fails if it exists.</summary>
    public const string Create = "create";

    /// <summary>Replace exactly one occurrence of <c>oldStr</c> with <c>newStr</c>.</summary>
    public const string StrReplace = "str_replace";

    /// <summary>Insert <c>newStr</c> after line <c>insertLine</c> (0 = at the top).</summary>
    public const string Insert = "insert";

    /// <summary>Undo the last edit of a file made through this server.</summary>
    public const string Undo = "undo";
}
