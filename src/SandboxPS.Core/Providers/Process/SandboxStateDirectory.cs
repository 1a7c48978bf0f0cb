namespace SandboxPS.Core.Providers.Process;

/// <summary>Where local state lives: <c>$SANDBOXPS_STATE_DIR</c>, else <c>$XDG_STATE_HOME/sandboxps</c>, else <c>~/.local/state/sandboxps</c>.</summary>
public static class SandboxStateDirectory
{
    /// <summary>Environment variable that overrides the state directory.</summary>
    public const string Variable = "SANDBOXPS_STATE_DIR";

    /// <summary>The state directory for this process's environment (not created).</summary>
    public static string Resolve()
    {
        var explicitDir = System.Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(explicitDir))
        {
            return Path.GetFullPath(explicitDir);
        }
        var xdg = System.Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "sandboxps");
        }
        var home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
        {
            home = Path.GetTempPath();
        }
        return Path.Combine(home, ".local", "state", "sandboxps");
    }

    /// <summary>Creates <paramref name="path"/> (and parents) with mode 0700 for what this call creates, and tightens it to 0700.</summary>
    internal static void CreatePrivate(string path)
    {
        if (!Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
