namespace SandboxPS.Core.Automation;

/// <summary>Invoke-SandboxAction's opt-in failure for non-zero exits (-ErrorOnNonZeroExit).</summary>
internal static class ActionOutcome
{
    /// <summary>Lines of output quoted in the error message.</summary>
    private const int QuotedLines = 5;

    /// <summary>
    /// The <c>SandboxActionFailed</c> error for a result that did not succeed, or null when it did.
    /// The message quotes the exit code and the last lines of output.
    /// </summary>
    public static SandboxException? FailureOf(SandboxActionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Succeeded)
        {
            return null;
        }
        var text = !string.IsNullOrEmpty(result.Stderr) ? result.Stderr : result.Output;
        var tail = (text ?? "").Replace("\r\n", "\n").TrimEnd('\n').Split('\n').TakeLast(QuotedLines).Where(l => l.Length > 0).ToList();
        var why = result.TimedOut ? "timed out" : $"exited with code {result.ExitCode}";
        var message = $"{result.Action} in sandbox '{result.SandboxName ?? result.SandboxId}' {why}."
            + (tail.Count > 0 ? System.Environment.NewLine + string.Join(System.Environment.NewLine, tail) : "");
        return new SandboxException(result.TimedOut ? SandboxErrorKind.Timeout : SandboxErrorKind.ActionFailed,
            result.TimedOut ? "SandboxActionTimeout" : "SandboxActionFailed", message, result.SandboxName ?? result.SandboxId)
        {
            RecommendedAction = result.TimedOut
                ? "Raise -TimeoutSec, or run the command with -Stream to watch its progress."
                : "Inspect the result's Output (or Stdout/Stderr); leave out -ErrorOnNonZeroExit to get the result as data.",
        };
    }
}
