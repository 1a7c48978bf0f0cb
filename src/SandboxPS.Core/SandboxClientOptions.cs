namespace SandboxPS.Core;

/// <summary>Timeouts and naming for a <see cref="SandboxClient"/>.</summary>
public sealed class SandboxClientOptions
{
    /// <summary>Limit for calls that run nothing (health, info, sessions, files). Default 100 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Limit for opening a connection. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Added to a run's or exec's own <c>timeoutSeconds</c> to bound the call (the server needs a moment to
    /// interrupt and report). Runs without their own timeout are bounded only by the caller's token. Default 30 s.
    /// </summary>
    public TimeSpan RunTimeoutGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retry transport failures (connection refused or reset before a response). Default true.</summary>
    public bool RetryTransportFailures { get; init; } = true;

    /// <summary>Name of the sandbox, used in error messages.</summary>
    public string? SandboxName { get; init; }
}
