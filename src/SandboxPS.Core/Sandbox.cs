namespace SandboxPS.Core;

/// <summary>Lifecycle states, the same for every provider.</summary>
public enum SandboxState
{
    /// <summary>The provider is creating it.</summary>
    Creating,
    /// <summary>Created; the server is starting.</summary>
    Starting,
    /// <summary>Running; the server has not yet answered a health check.</summary>
    Running,
    /// <summary>The server answers; actions will succeed.</summary>
    Ready,
    /// <summary>Frozen by the provider.</summary>
    Paused,
    /// <summary>Exited normally or was stopped.</summary>
    Stopped,
    /// <summary>Exited with an error; see the reason.</summary>
    Failed,
    /// <summary>No longer exists.</summary>
    Gone,
}

/// <summary>State of a sandbox as a provider reports it, with the reason when it failed.</summary>
public sealed record SandboxStatus(SandboxState State, string? Reason = null, int? ExitCode = null,
                                   IReadOnlyList<string>? LastLogLines = null);

/// <summary>
/// A sandbox: the handle providers return and cmdlets emit. Carries no secret in public members;
/// the token that drives its server stays internal to the core.
/// </summary>
public sealed class Sandbox
{
    /// <summary>Creates a handle (providers and tests).</summary>
    public Sandbox(string id, string name, string provider, SandboxState state, string? endpoint,
                   string? image, string? runtime, IReadOnlyDictionary<string, string> labels,
                   DateTimeOffset createdAt, DateTimeOffset? expiresAt)
    {
        Id = id;
        Name = name;
        Provider = provider;
        State = state;
        Endpoint = endpoint;
        Image = image;
        Runtime = runtime;
        Labels = labels;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
    }

    /// <summary>Provider-unique id (container id, generated id).</summary>
    public string Id { get; }

    /// <summary>Human name, unique per provider.</summary>
    public string Name { get; }

    /// <summary>Provider name: <c>process</c>, <c>docker</c>, …</summary>
    public string Provider { get; }

    /// <summary>State when this handle was made; refresh with the provider.</summary>
    public SandboxState State { get; internal set; }

    /// <summary>
    /// Where the server listens: <c>http://127.0.0.1:PORT</c>, or <c>unix:/path/to/socket</c> for
    /// sandboxes without a network.
    /// </summary>
    public string? Endpoint { get; internal set; }

    /// <summary>Image the sandbox runs (container providers).</summary>
    public string? Image { get; }

    /// <summary>Runtime name it was built from, when any.</summary>
    public string? Runtime { get; }

    /// <summary>All labels, ours (<c>sandboxps.*</c>) and the user's.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary>Creation time (UTC).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>When its time to live ends; null = no TTL.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>Bearer token of its server. Never printed, never on a command line.</summary>
    internal string? Token { get; set; }

    /// <summary>The name, so <c>"$sandbox"</c> reads well.</summary>
    public override string ToString() => Name;
}

/// <summary>Label keys every managed resource carries (DESIGN.md, "Labels and cleanup").</summary>
public static class SandboxLabels
{
    /// <summary>Prefix of our own labels; user labels may not use it.</summary>
    public const string Prefix = "sandboxps.";
    /// <summary><c>true</c> on everything this tool manages; listing filters on it.</summary>
    public const string Managed = "sandboxps.managed";
    /// <summary>Our id of the sandbox.</summary>
    public const string Id = "sandboxps.id";
    /// <summary>The sandbox's name.</summary>
    public const string Name = "sandboxps.name";
    /// <summary>Creation time, ISO 8601 UTC.</summary>
    public const string Created = "sandboxps.created";
    /// <summary>host/pid of the creating process.</summary>
    public const string Owner = "sandboxps.owner";
    /// <summary>Expiry time, ISO 8601 UTC, when a TTL is set.</summary>
    public const string Expires = "sandboxps.expires";
    /// <summary>Version of SandboxPS that created it.</summary>
    public const string Version = "sandboxps.version";
    /// <summary>Runtime name, when created from a runtime.</summary>
    public const string Runtime = "sandboxps.runtime";
}
