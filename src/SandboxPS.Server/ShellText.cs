namespace SandboxPS.Server;

/// <summary>Shell command text as callers on every platform send it.</summary>
internal static class ShellText
{
    /// <summary>
    /// CRLF line ends become LF. A script written on Windows (a PowerShell here-string, a file read there)
    /// arrives with CRLF, and sh would read <c>cd /tmp\r</c> as a directory named "tmp\r". A lone CR is
    /// kept: it is data (printf '\r'), not a line end.
    /// </summary>
    public static string FromWindowsLineEndings(string command) =>
        command.Contains("\r\n", StringComparison.Ordinal) ? command.Replace("\r\n", "\n", StringComparison.Ordinal) : command;
}
