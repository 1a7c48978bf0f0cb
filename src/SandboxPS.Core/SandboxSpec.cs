namespace SandboxPS.Core;

/// <summary>
/// What to create. Providers read only the fields they support and reject, with
/// <see cref="SandboxErrorKind.InvalidArgument"/>, options they do not know (typos included).
/// </summary>
public sealed class SandboxSpec
{
    /// <summary>Image to run (container providers). Exclusive with <see cref="Runtime"/>.</summary>
    public string? Image { get; set; }

    /// <summary>Runtime name or path of a runtime file (YAML/JSON). Exclusive with <see cref="Image"/>.</summary>
    public string? Runtime { get; set; }

    /// <summary>Name; generated (<c>sbx-xxxxxxxx</c>) when null. Letters, digits, '-', '_', '.'; 1–63 characters.</summary>
    public string? Name { get; set; }

    /// <summary>User labels; keys may not start with <c>sandboxps.</c>.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Environment variables for everything the sandbox runs.</summary>
    public IDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Working directory of sessions and execs.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>User to run as (name, uid or uid:gid), where the provider supports it.</summary>
    public string? User { get; set; }

    /// <summary>CPU limit in cores (e.g. 0.5).</summary>
    public double? Cpus { get; set; }

    /// <summary>Memory limit in bytes.</summary>
    public long? MemoryBytes { get; set; }

    /// <summary>Maximum number of processes.</summary>
    public long? PidsLimit { get; set; }

    /// <summary>Network mode (<c>bridge</c>, <c>none</c>, or a network name), where supported.</summary>
    public string? NetworkMode { get; set; }

    /// <summary>Read-only root file system, where supported.</summary>
    public bool ReadOnlyRootFilesystem { get; set; }

    /// <summary>Time to live: the sandbox removes itself (its server exits) after this.</summary>
    public TimeSpan? TimeToLive { get; set; }

    /// <summary>The server exits after this long without a request.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>Maximum concurrent sessions of the server.</summary>
    public int? MaxSessions { get; set; }

    /// <summary>Provider-specific options (<c>key=value</c>); unknown keys are rejected.</summary>
    public IDictionary<string, string> ProviderOptions { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}
