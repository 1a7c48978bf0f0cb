using System.Globalization;

namespace SandboxPS.Core.Providers.Docker;

/// <summary>
/// The host directory holding the unix socket of a sandbox whose network is <c>none</c> or <c>host</c>:
/// made before the container (it is bind-mounted), named after the sandbox id, removed with it.
/// </summary>
internal static class DockerRunDirectory
{
    internal const string SocketFileName = "server.sock";

    /// <summary>Host directory under which per-sandbox socket directories live.</summary>
    internal static string Base()
    {
        if (Environment.GetEnvironmentVariable(DockerProvider.RunDirectoryVariable) is { Length: > 0 } configured)
        {
            return configured;
        }
        if (!OperatingSystem.IsWindows() && EffectiveUid() == 0)
        {
            return "/run/sandboxps/docker";
        }
        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg)
        {
            return Path.Combine(xdg, "sandboxps", "docker");
        }
        var uid = OperatingSystem.IsWindows() ? 0 : EffectiveUid();
        return Path.Combine(Path.GetTempPath(), "sandboxps-" + uid.ToString(CultureInfo.InvariantCulture), "docker");
    }

    /// <summary>The endpoint of the socket in <paramref name="directory"/>.</summary>
    internal static string Endpoint(string directory) => Kit.ServerEndpoint.UnixSocket(Path.Combine(directory, SocketFileName));

    internal static void Create(string directory, bool containerRunsAsRoot)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException(SandboxErrorKind.NotSupported, "NetworkModeNotSupported",
                "Network mode none needs unix sockets on the host.");
        }
        var parent = Path.GetDirectoryName(directory)!;
        Directory.CreateDirectory(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                          | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(directory);
        // The server creates its socket here as the container's user. Root in the container gets in
        // anyway (0700); another user needs write and search access (0733: it still cannot list the
        // directory, whose name is random under a parent that cannot be listed either, and the
        // server demands the token).
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (!containerRunsAsRoot)
        {
            mode |= UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        }
        File.SetUnixFileMode(directory, mode);
    }

    internal static void Delete(string directory)
    {
        try
        {
            var socket = Path.Combine(directory, SocketFileName);
            if (File.Exists(socket) || Directory.Exists(directory))
            {
                File.Delete(socket);
                Directory.Delete(directory, recursive: false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Something else lives in it (not ours) or it is already gone: leave it.
        }
    }

    /// <summary>Effective uid of this process (Linux: /proc; elsewhere 0 for root, else 1000).</summary>
    internal static uint EffectiveUid()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return uint.Parse(fields[2], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }
        return Environment.UserName == "root" ? 0u : 1000u;
    }
}
