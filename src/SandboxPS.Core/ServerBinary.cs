namespace SandboxPS.Core;

/// <summary>Finds the static <c>sandboxps-server</c> binary that providers run or copy into sandboxes.</summary>
public static class ServerBinary
{
    /// <summary>File name of the server binary.</summary>
    public const string FileName = "sandboxps-server";

    /// <summary>Environment variable that overrides where the binary is.</summary>
    public const string PathVariable = "SANDBOXPS_SERVER_PATH";

    /// <summary>
    /// The binary's full path: <c>SANDBOXPS_SERVER_PATH</c>, else beside the running program, else
    /// beside SandboxPS.Core.dll.
    /// </summary>
    /// <exception cref="SandboxException">ServerBinaryNotFound, naming every place that was tried.</exception>
    public static string Locate()
    {
        var tried = new List<string>();
        var fromEnv = System.Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            if (File.Exists(fromEnv))
            {
                return Path.GetFullPath(fromEnv);
            }
            tried.Add($"{PathVariable}={fromEnv}");
        }
        foreach (var dir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(ServerBinary).Assembly.Location) })
        {
            if (string.IsNullOrEmpty(dir))
            {
                continue;
            }
            var candidate = Path.Combine(dir, FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
            tried.Add(candidate);
        }
        throw new SandboxException(SandboxErrorKind.ProviderUnavailable, "ServerBinaryNotFound",
            $"The sandbox server binary '{FileName}' was not found. Tried: {string.Join(", ", tried.Distinct())}.")
        {
            RecommendedAction = $"Build it with 'dotnet publish src/SandboxPS.Server -c Release', or set {PathVariable} to its path.",
        };
    }
}
