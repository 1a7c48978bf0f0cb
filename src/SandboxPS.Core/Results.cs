namespace SandboxPS.Core;

/// <summary>A session inside a sandbox (pipeline object).</summary>
public sealed record SandboxSession
{
    /// <summary>Session id (<c>default</c> for the default shell session).</summary>
    public required string Id { get; init; }
    /// <summary>Id of the sandbox it lives in; binds by property name down the pipeline.</summary>
    public required string SandboxId { get; init; }
    /// <summary>Name of the sandbox it lives in.</summary>
    public string? SandboxName { get; init; }
    /// <summary><c>shell</c> or <c>python</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>Working directory at the last report.</summary>
    public string? Cwd { get; init; }
    /// <summary>Creation time.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>True while a command runs in it.</summary>
    public bool Busy { get; init; }
    /// <summary>The id.</summary>
    public override string ToString() => Id;
}

/// <summary>
/// Result of one action in a sandbox. A non-zero exit code is data, not an exception.
/// </summary>
public sealed record SandboxActionResult
{
    /// <summary>Id of the sandbox the action ran in.</summary>
    public required string SandboxId { get; init; }
    /// <summary>Name of that sandbox.</summary>
    public string? SandboxName { get; init; }
    /// <summary>Session the action ran in; null for one-shot exec and file actions.</summary>
    public string? SessionId { get; init; }
    /// <summary>What ran: <c>Command</c>, <c>Exec</c>, <c>Python</c>, <c>ReadFile</c>, <c>WriteFile</c>, <c>Edit</c>, …</summary>
    public required string Action { get; init; }
    /// <summary>Exit code (0 for successful file actions).</summary>
    public int ExitCode { get; init; }
    /// <summary>Output as a terminal shows it (stdout and stderr merged where the action merges them).</summary>
    public string Output { get; init; } = "";
    /// <summary>Standard output, where separate from stderr (exec).</summary>
    public string? Stdout { get; init; }
    /// <summary>Standard error, where separate (exec).</summary>
    public string? Stderr { get; init; }
    /// <summary>Working directory after the action (shell sessions).</summary>
    public string? Cwd { get; init; }
    /// <summary>The action hit its timeout and was interrupted.</summary>
    public bool TimedOut { get; init; }
    /// <summary>Output was longer than the cap and was cut.</summary>
    public bool Truncated { get; init; }
    /// <summary>Wall time of the action.</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>True when ExitCode is 0 and nothing timed out.</summary>
    public bool Succeeded => ExitCode == 0 && !TimedOut;
}
