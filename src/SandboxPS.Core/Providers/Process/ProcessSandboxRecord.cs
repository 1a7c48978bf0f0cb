using System.Text.Json.Serialization;

namespace SandboxPS.Core.Providers.Process;

/// <summary>One process sandbox as the state directory keeps it (<c>&lt;state&gt;/process/&lt;id&gt;.json</c>, mode 0600).</summary>
internal sealed record ProcessSandboxRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    /// <summary>Pid of the launcher shell: session leader of the sandbox, parent of the server.</summary>
    public int LauncherPid { get; init; }
    /// <summary>Pid of <c>sandboxps-server</c>; 0 until it reported its port.</summary>
    public int ServerPid { get; init; }
    public string? Endpoint { get; init; }
    public required string Token { get; init; }
    public required Dictionary<string, string> Labels { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public required string WorkDir { get; init; }
    /// <summary>True when the working directory was made for this sandbox (and is deleted with it).</summary>
    public bool OwnsWorkDir { get; init; }
    /// <summary>Directory holding the server log and exit code.</summary>
    public required string SandboxDir { get; init; }
    public required string LogPath { get; init; }
    public required string ExitCodePath { get; init; }
    public required string ServerPath { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
                             DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProcessSandboxRecord))]
internal sealed partial class ProcessStateJsonContext : JsonSerializerContext;
