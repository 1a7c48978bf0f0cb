using System.Security.Cryptography;

namespace SandboxPS.Core;

/// <summary>
/// Standard input for a session command: the input is copied into a file in the sandbox, and the command runs in the session with
/// that file as its standard input. Piping it into the session's terminal instead would mangle bytes the
/// terminal treats as keys (Ctrl-C, Ctrl-D), cut lines past 4 KiB, and leave whatever the command did not
/// read to the shell, which would run it as commands.
/// </summary>
internal static class StdinStaging
{
    /// <summary>Uploads <paramref name="stdin"/> (streamed) to a fresh file in the server's working directory.</summary>
    public static async Task<string> UploadAsync(SandboxClient client, Stream stdin, CancellationToken cancellationToken)
    {
        var info = await client.GetInfoAsync(cancellationToken).ConfigureAwait(false);
        var path = info.WorkDir.TrimEnd('/') + "/.sandboxps-stdin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        await client.WriteFileAsync(path, stdin, mode: 0b110_000_000, overwrite: false, cancellationToken).ConfigureAwait(false);
        return path;
    }

    /// <summary>Removes the staged file if it is still there (bounded; failures are ignored).</summary>
    public static async Task DeleteAsync(SandboxClient client, string path)
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.DeleteFileAsync(path, ct: budget.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SandboxException or OperationCanceledException)
        {
            // Already unlinked by the command (the usual case), or the sandbox is gone.
        }
    }

    /// <summary>
    /// The command, run in the current shell (so cd and exports persist) with the staged file as its input.
    /// The file is unlinked as soon as the redirection has opened it, before the command starts.
    /// </summary>
    public static string Wrap(string commandLine, string stagedPath)
    {
        var quoted = "'" + stagedPath.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        return $"{{ rm -f -- {quoted}; {commandLine}\n}} < {quoted}";
    }
}
