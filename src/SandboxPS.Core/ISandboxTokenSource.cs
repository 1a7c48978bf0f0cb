namespace SandboxPS.Core;

/// <summary>
/// Implemented by providers that can recover the bearer token of a sandbox made by another process
/// (the process provider reads its state file; the docker provider reads its container). The manager
/// uses it when a <see cref="Sandbox"/> handle carries no token.
/// </summary>
internal interface ISandboxTokenSource
{
    /// <summary>The token of sandbox <paramref name="id"/>.</summary>
    /// <exception cref="SandboxException">NotFound when the sandbox is gone; <c>SandboxTokenUnavailable</c> otherwise.</exception>
    Task<string> GetTokenAsync(string id, CancellationToken cancellationToken);
}
