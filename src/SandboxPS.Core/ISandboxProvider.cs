namespace SandboxPS.Core;

/// <summary>
/// Creates and destroys sandboxes. Implementations are thread-safe: one instance serves
/// many concurrent calls (ForEach-Object -Parallel).
/// </summary>
public interface ISandboxProvider
{
    /// <summary>Provider name as users type it: <c>process</c>, <c>docker</c>, …</summary>
    string Name { get; }

    /// <summary>
    /// Creates a sandbox and starts its server; does not wait for readiness. Every resource is
    /// labelled before or at creation; on failure, what this call created is deleted and the
    /// original error is thrown.
    /// </summary>
    /// <exception cref="SandboxException">InvalidArgument for a bad spec; ProviderUnavailable; AlreadyExists for a taken name.</exception>
    Task<Sandbox> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Finds one managed sandbox by exact id or name; null when there is none.</summary>
    Task<Sandbox?> GetAsync(string idOrName, CancellationToken cancellationToken = default);

    /// <summary>Current state, with a reason (exit code, last log lines) when it failed.</summary>
    Task<SandboxStatus> GetStatusAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Managed sandboxes only (label <c>sandboxps.managed=true</c>), filtered by labels when given.</summary>
    IAsyncEnumerable<Sandbox> ListAsync(IReadOnlyDictionary<string, string>? labelFilter = null,
                                        CancellationToken cancellationToken = default);

    /// <summary>Removes the sandbox and everything created for it. Idempotent: removing what is gone succeeds.</summary>
    Task RemoveAsync(string id, CancellationToken cancellationToken = default);
}

/// <summary>Optional: providers that can return a sandbox's own output (server log, container logs).</summary>
public interface ILogSource
{
    /// <summary>The last <paramref name="tail"/> lines the sandbox printed.</summary>
    Task<IReadOnlyList<string>> GetLogsAsync(string id, int tail, CancellationToken cancellationToken = default);
}

/// <summary>Optional: providers that can freeze and thaw a sandbox.</summary>
public interface IPausable
{
    /// <summary>Freezes every process of the sandbox.</summary>
    Task PauseAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Thaws a paused sandbox.</summary>
    Task ResumeAsync(string id, CancellationToken cancellationToken = default);
}
