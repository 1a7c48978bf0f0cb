namespace SandboxPS.Core.Automation;

/// <summary>
/// What a <c>-Sandbox</c> parameter received: a <see cref="Sandbox"/> object, a session or action result
/// (which name their sandbox), or an id, id prefix or name to resolve. Lets
/// <c>$sb | Invoke-SandboxAction</c>, <c>'web-1' | Invoke-SandboxAction</c> and
/// <c>$session | Invoke-SandboxAction</c> all work.
/// </summary>
public sealed class SandboxRef
{
    private SandboxRef(Sandbox? sandbox, string key, string? sessionId)
    {
        Sandbox = sandbox;
        Key = key;
        SessionId = sessionId;
    }

    /// <summary>The sandbox object, when one was passed.</summary>
    public Sandbox? Sandbox { get; }

    /// <summary>The id (or id prefix, or name) to resolve.</summary>
    public string Key { get; }

    /// <summary>The session named by a piped session or result; null otherwise.</summary>
    public string? SessionId { get; }

    /// <summary>A reference to <paramref name="sandbox"/>.</summary>
    public static SandboxRef From(Sandbox sandbox) => new(sandbox ?? throw new ArgumentNullException(nameof(sandbox)), sandbox.Id, null);

    /// <summary>A reference by id, id prefix or name.</summary>
    public static SandboxRef From(string idOrName)
    {
        if (string.IsNullOrWhiteSpace(idOrName))
        {
            throw ParameterConversion.Invalid("Sandbox", "is empty", "Pass a sandbox object, its id or its name.");
        }
        return new SandboxRef(null, idOrName.Trim(), null);
    }

    /// <summary>
    /// Converts anything PowerShell may bind: a Sandbox, SandboxSession, SandboxActionResult, SandboxRef or
    /// string (PowerShell wrappers already removed by the caller).
    /// </summary>
    /// <exception cref="SandboxException">InvalidArgument for anything else.</exception>
    public static SandboxRef FromObject(object? value) => ParameterConversion.Unwrap(value) switch
    {
        SandboxRef r => r,
        Sandbox s => From(s),
        SandboxSession session => new SandboxRef(null, session.SandboxId, session.Id),
        SandboxActionResult result => new SandboxRef(null, result.SandboxId, result.SessionId),
        string text => From(text),
        null => throw ParameterConversion.Invalid("Sandbox", "is null", "Pass a sandbox object, its id or its name."),
        var other => throw ParameterConversion.Invalid("Sandbox", $"cannot be a {other.GetType().Name}",
            "Pass a Sandbox (from New-Sandbox or Get-Sandbox), a session, an action result, an id or a name."),
    };

    /// <summary>The sandbox: the object itself, or the one <paramref name="resolve"/> finds for <see cref="Key"/>.</summary>
    public Task<Sandbox> ResolveAsync(Func<string, CancellationToken, Task<Sandbox>> resolve, CancellationToken cancellationToken) =>
        Sandbox is not null ? Task.FromResult(Sandbox) : resolve(Key, cancellationToken);

    /// <summary>The name or key, for messages.</summary>
    public override string ToString() => Sandbox?.Name ?? Key;
}
