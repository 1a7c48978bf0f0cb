namespace SandboxPS.Core.Automation;

/// <summary>
/// How a failure is presented in PowerShell: the <c>System.Management.Automation.ErrorCategory</c>
/// member name (kept as text so this table lives outside SMA and is unit-tested), the error id used
/// when an exception carries none, and a fix to suggest when the exception has no recommended action.
/// </summary>
internal sealed record ErrorPresentation(string Category, string DefaultErrorId, string? RecommendedAction);

/// <summary>STYLE.md 4.5: <see cref="SandboxErrorKind"/> to error category and id, in one place.</summary>
internal static class SandboxErrorTable
{
    /// <summary>The id of errors that are bugs or unexpected answers.</summary>
    public const string InternalErrorId = "SandboxInternalError";

    private static readonly IReadOnlyDictionary<SandboxErrorKind, ErrorPresentation> ByKind =
        new Dictionary<SandboxErrorKind, ErrorPresentation>
        {
            [SandboxErrorKind.NotFound] = new("ObjectNotFound", "SandboxNotFound",
                "Run Get-Sandbox to list the sandboxes this machine manages."),
            [SandboxErrorKind.AlreadyExists] = new("ResourceExists", "SandboxNameInUse",
                "Choose another -Name, or reuse the existing one with Get-Sandbox -Name <name>."),
            [SandboxErrorKind.InvalidArgument] = new("InvalidArgument", "InvalidSandboxArgument", null),
            [SandboxErrorKind.NotReady] = new("ResourceUnavailable", "SandboxNotReady",
                "Wait for it with Wait-SandboxReady, or inspect it with Get-Sandbox."),
            [SandboxErrorKind.Timeout] = new("OperationTimeout", "SandboxOperationTimeout",
                "Raise -TimeoutSec, or check that the sandbox is healthy with Get-Sandbox."),
            [SandboxErrorKind.ProviderUnavailable] = new("ConnectionError", "SandboxProviderUnavailable",
                "Is the Docker daemon running? Set DOCKER_HOST if it does not listen on the default socket."),
            [SandboxErrorKind.Unauthorized] = new("AuthenticationError", "SandboxUnauthorized",
                "The sandbox rejected the token: remove it with Remove-Sandbox and create a new one."),
            [SandboxErrorKind.Conflict] = new("ResourceBusy", "SandboxStateConflict", null),
            [SandboxErrorKind.QuotaExceeded] = new("QuotaExceeded", "ProviderQuotaExceeded",
                "Remove sessions or sandboxes you no longer need (Remove-SandboxSession, Remove-Sandbox)."),
            [SandboxErrorKind.ActionFailed] = new("InvalidResult", "SandboxActionFailed", null),
            [SandboxErrorKind.NotSupported] = new("NotImplemented", "ProviderFeatureNotSupported",
                "Use a provider that supports this feature (see Get-Help New-Sandbox -Parameter Provider)."),
            [SandboxErrorKind.Internal] = new("InvalidOperation", InternalErrorId,
                "This is a bug in SandboxPS; run the command with -Verbose and report the output."),
        };

    /// <summary>Server error ids whose category differs from their kind's.</summary>
    private static readonly IReadOnlyDictionary<string, string> CategoryByErrorId =
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PermissionDenied"] = "PermissionDenied",
            ["SandboxPathNotFound"] = "ObjectNotFound",
            ["PathNotFound"] = "ObjectNotFound",
            ["SessionBusy"] = "ResourceBusy",
            ["CapacityReached"] = "QuotaExceeded",
        };

    /// <summary>
    /// Fixes phrased for PowerShell, for every id whose core advice names CLI commands or flags (a unit test
    /// checks that none is missing). Errors the core raises with the caller's names (the spec validator, the
    /// action runner) need no entry: their own advice is already worded for PowerShell.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> PowerShellActionByErrorId =
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SandboxNotFound"] = "Run Get-Sandbox to list the sandboxes this machine manages.",
            ["SandboxAmbiguous"] = "Pass a longer id prefix, the full id (-Id), or the exact name.",
            ["SandboxNameInUse"] = "Choose another -Name, or remove the old sandbox with Remove-Sandbox.",
            ["SandboxReadyTimeout"] = "Raise -TimeoutSec, or look at the sandbox with Get-Sandbox and its provider's logs.",
            ["SandboxNotReady"] = "Wait for it with Wait-SandboxReady (or create it with New-Sandbox -Wait).",
            ["SandboxServerUnreachable"] = "Check that the sandbox is running (Get-Sandbox); a sandbox past its TTL or idle timeout has exited.",
            ["SandboxRequestTimeout"] = "Check that the sandbox is running (Get-Sandbox); pass a larger -TimeoutSec for long commands.",
            ["UnknownProvider"] = "Pass -Provider Process or -Provider Docker.",
            ["RuntimeNotFound"] = "List runtimes with Get-SandboxRuntime, or pass the path of a runtime file (.yaml/.json).",
            ["SessionNotFound"] = "List sessions with Get-SandboxSession, or create one with New-SandboxSession.",
            ["SessionExited"] = "The session's process has ended; create a new one with New-SandboxSession.",
            ["Unauthorized"] = "The token does not match this sandbox's server; it may have been re-created. Look it up again with Get-Sandbox.",
            ["CapacityReached"] = "Remove a session (Remove-SandboxSession), or create the sandbox with a larger -SessionLimit.",
            ["ServerMountNeedsLocalEngine"] = "Use -ProviderOption @{ serverMount = 'copy' }, or leave the option out.",
            ["DockerImageNotFound"] = "Build the image (docker build) or load it (docker load) on the engine, or use -Runtime; Get-SandboxRuntime lists the runtimes.",
        };

    /// <summary>The ids <see cref="RecommendedActionFor"/> phrases for PowerShell itself.</summary>
    public static IReadOnlyCollection<string> PowerShellPhrasedIds => (IReadOnlyCollection<string>)PowerShellActionByErrorId.Keys;

    /// <summary>The fix to show for <paramref name="exception"/>: the PowerShell phrasing of its id, else its own, else the kind's default.</summary>
    public static string? RecommendedActionFor(SandboxException exception) =>
        PowerShellActionByErrorId.TryGetValue(exception.ErrorId, out var text) ? text
        : exception.RecommendedAction ?? For(exception.Kind).RecommendedAction;

    /// <summary>Every kind with its presentation (tests assert completeness).</summary>
    public static IReadOnlyDictionary<SandboxErrorKind, ErrorPresentation> All => ByKind;

    /// <summary>The presentation of <paramref name="kind"/>; unknown values present as internal errors.</summary>
    public static ErrorPresentation For(SandboxErrorKind kind) =>
        ByKind.TryGetValue(kind, out var p) ? p : ByKind[SandboxErrorKind.Internal];

    /// <summary>The category for an exception of <paramref name="kind"/> with <paramref name="errorId"/>.</summary>
    public static string CategoryFor(SandboxErrorKind kind, string? errorId) =>
        errorId is not null && CategoryByErrorId.TryGetValue(errorId, out var category) ? category : For(kind).Category;
}
