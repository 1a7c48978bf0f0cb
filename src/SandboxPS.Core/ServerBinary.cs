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
                return Executable(Path.GetFullPath(fromEnv));
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
                return Executable(candidate);
            }
            tried.Add(candidate);
        }
        throw new SandboxException(SandboxErrorKind.ProviderUnavailable, "ServerBinaryNotFound",
            $"The sandbox server binary '{FileName}' was not found. Tried: {string.Join(", ", tried.Distinct())}.")
        {
            RecommendedAction = $"Build it with 'dotnet publish src/SandboxPS.Server -c Release', or set {PathVariable} to its path.",
        };
    }

    /// <summary>
    /// The binary, executable. Packages lose file modes on the way (a .nupkg is a zip: Install-PSResource,
    /// Install-Module and dotnet tool install extract the server as 0644), so a binary without its execute
    /// bits gets them back; where its folder is not ours to change (an all-users install), an executable copy
    /// in the user's cache (<c>$XDG_CACHE_HOME/sandboxps</c>, else <c>~/.cache/sandboxps</c>) is used instead.
    /// </summary>
    internal static string Executable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return path;
        }
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(path);
        if ((mode & anyExecute) != 0)
        {
            return path;
        }
        // Execute wherever reading is allowed: 0644 becomes 0755.
        var wanted = mode | UnixFileMode.UserExecute
            | ((mode & UnixFileMode.GroupRead) != 0 ? UnixFileMode.GroupExecute : 0)
            | ((mode & UnixFileMode.OtherRead) != 0 ? UnixFileMode.OtherExecute : 0);
        try
        {
            File.SetUnixFileMode(path, wanted);
            return path;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            // Not our file: fall through to a private copy.
        }
        var info = new FileInfo(path);
        var cacheRoot = System.Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".cache");
        var dir = Path.Combine(cacheRoot, "sandboxps", $"server-{info.Length}-{info.LastWriteTimeUtc.Ticks}");
        var copy = Path.Combine(dir, FileName);
        if (File.Exists(copy) && (File.GetUnixFileMode(copy) & UnixFileMode.UserExecute) != 0)
        {
            return copy;
        }
        Directory.CreateDirectory(dir);
        var temp = copy + "." + System.Environment.ProcessId + ".tmp";
        File.Copy(path, temp, overwrite: true);
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                   | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.Move(temp, copy, overwrite: true);
        return copy;
    }
}
