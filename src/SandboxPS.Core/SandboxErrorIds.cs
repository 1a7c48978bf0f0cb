namespace SandboxPS.Core;

/// <summary>
/// Stable error ids raised by the core itself (the server's own ids are in
/// <see cref="SandboxPS.Protocol.ErrorIds"/> and pass through unchanged). Scripts and tests branch on these.
/// </summary>
public static class SandboxErrorIds
{
    /// <summary>No managed sandbox has that id, id prefix or name.</summary>
    public const string SandboxNotFound = "SandboxNotFound";
    /// <summary>An id prefix or name matches more than one sandbox.</summary>
    public const string SandboxAmbiguous = "SandboxAmbiguous";
    /// <summary>A sandbox with that name exists already (per provider).</summary>
    public const string SandboxNameInUse = "SandboxNameInUse";
    /// <summary>The sandbox did not become ready within the readiness timeout.</summary>
    public const string SandboxReadyTimeout = "SandboxReadyTimeout";
    /// <summary>The sandbox stopped or failed (carried by <see cref="SandboxNotRunningException"/>).</summary>
    public const string SandboxNotRunning = "SandboxNotRunning";
    /// <summary>The sandbox's server cannot be reached (connection refused, reset, DNS, socket missing).</summary>
    public const string SandboxServerUnreachable = "SandboxServerUnreachable";
    /// <summary>A call to the sandbox's server did not answer within its timeout.</summary>
    public const string SandboxRequestTimeout = "SandboxRequestTimeout";
    /// <summary>The server answered something the client cannot read.</summary>
    public const string SandboxProtocolError = "SandboxProtocolError";
    /// <summary>No token is known for the sandbox (made elsewhere, and its provider cannot recover it).</summary>
    public const string SandboxTokenUnavailable = "SandboxTokenUnavailable";
    /// <summary>No provider of that name.</summary>
    public const string UnknownProvider = "UnknownProvider";
    /// <summary>A duration such as <c>--ttl</c> could not be read.</summary>
    public const string InvalidDuration = "InvalidDuration";
    /// <summary>A sandbox name breaks the naming rule.</summary>
    public const string InvalidSandboxName = "InvalidSandboxName";
    /// <summary>A label key or value is invalid, or uses the reserved <c>sandboxps.</c> prefix.</summary>
    public const string InvalidLabel = "InvalidLabel";
    /// <summary>An environment variable name is invalid.</summary>
    public const string InvalidEnvironmentVariable = "InvalidEnvironmentVariable";
    /// <summary>A numeric or other spec value is out of range, or two options exclude each other.</summary>
    public const string InvalidSpec = "InvalidSpec";
    /// <summary>A provider option (<c>key=value</c>) is unknown to the provider.</summary>
    public const string InvalidProviderOption = "InvalidProviderOption";
    /// <summary>The provider cannot honour a requested setting (e.g. a memory limit for a plain process).</summary>
    public const string ProviderOptionNotSupported = "ProviderOptionNotSupported";
    /// <summary>A local path for a copy is missing or unusable.</summary>
    public const string LocalPathNotFound = "LocalPathNotFound";
    /// <summary>An archive from a sandbox was refused: an entry would land outside the destination, write through a link,
    /// or cannot be represented on the host (device, FIFO, link escaping the copy), or the archive is malformed or cut short.</summary>
    public const string InvalidArchive = "InvalidArchive";
    /// <summary>A copy out of a sandbox would replace a local directory, or write through a local link: refused, nothing changed.</summary>
    public const string LocalPathConflict = "LocalPathConflict";
    /// <summary>A copy out of a sandbox announces more bytes than are free at the destination.</summary>
    public const string InsufficientLocalSpace = "InsufficientLocalSpace";
    /// <summary>A file action did not finish within the time its caller gave it.</summary>
    public const string SandboxActionTimeout = "SandboxActionTimeout";
    /// <summary>The command line could not be parsed (CLI).</summary>
    public const string InvalidCommandLine = "InvalidCommandLine";
    /// <summary>The process provider could not start the server.</summary>
    public const string SandboxStartFailed = "SandboxStartFailed";
    /// <summary>Unexpected failure; the message says what.</summary>
    public const string InternalError = "InternalError";
}
