namespace SandboxPS.Cli;

/// <summary>Exit codes of <c>sandboxps</c> (besides the command's own exit code passed through by exec and run).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The command in the sandbox hit its --timeout (as timeout(1) reports it).</summary>
    public const int TimedOut = 124;
    /// <summary>An error of sandboxps itself (as docker run reports its own errors).</summary>
    public const int SandboxpsError = 125;
    /// <summary>Interrupted by Ctrl-C.</summary>
    public const int Interrupted = 130;
}
