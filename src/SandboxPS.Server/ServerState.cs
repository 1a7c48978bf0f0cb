using System.Diagnostics;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>What the whole server shares: options, clock, sessions, the request-id store.</summary>
internal sealed class ServerState
{
    private long _lastActivityTicks;

    public ServerState(ServerOptions options, byte[] token, string workDir)
    {
        Options = options;
        Token = token;
        WorkDir = workDir;
        MaxSessions = options.MaxSessions;
        StartedAt = DateTimeOffset.UtcNow;
        ExpiresAt = options.Ttl is { } ttl ? StartedAt + ttl : null;
        Touch();
        Shell = options.Shell ?? FindShell();
        Sessions = new SessionManager(this);
        Requests = new RequestIdStore();
    }

    public ServerOptions Options { get; }
    public byte[] Token { get; }
    public string WorkDir { get; }
    public int MaxSessions { get; }
    public DateTimeOffset StartedAt { get; }
    public DateTimeOffset? ExpiresAt { get; }
    public string? Shell { get; }
    public SessionManager Sessions { get; }
    public RequestIdStore Requests { get; }
    public FileEditor Editor { get; } = new();
    public CancellationTokenSource Stopping { get; } = new();
    public string Version { get; } = typeof(ServerState).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public DateTimeOffset LastActivityAt => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

    public void Touch() => Interlocked.Exchange(ref _lastActivityTicks, DateTimeOffset.UtcNow.UtcTicks);

    public int ActiveRequests;

    private static string? FindShell()
    {
        foreach (var candidate in new[] { "/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash", "/bin/sh", "/usr/bin/sh" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return ChildEnvironment.Which("bash", null) ?? ChildEnvironment.Which("sh", null);
    }

    public InfoResponse Info() => new()
    {
        Os = Environment.OSVersion.Platform == PlatformID.Unix ? "linux" : Environment.OSVersion.Platform.ToString().ToLowerInvariant(),
        Arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
        User = SafeUserName(),
        Uid = (int)Native.geteuid(),
        WorkDir = WorkDir,
        ServerVersion = Version,
        ProtocolVersion = ProtocolConstants.Version,
        StartedAt = StartedAt,
        UptimeSeconds = (DateTimeOffset.UtcNow - StartedAt).TotalSeconds,
        LastActivityAt = LastActivityAt,
        SessionsInUse = Sessions.Count,
        MaxSessions = MaxSessions,
        IdleTimeoutSeconds = Options.IdleTimeout?.TotalSeconds,
        ExpiresAt = ExpiresAt,
        Shell = Shell,
        Python = ChildEnvironment.Which("python3", null),
        Pid = Environment.ProcessId,
    };

    /// <summary>
    /// The user name from /etc/passwd. Not Environment.UserName: getpwuid_r in a static glibc binary
    /// may dlopen NSS modules, which is unsafe here.
    /// </summary>
    private static string SafeUserName()
    {
        var uid = Native.geteuid().ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length > 2 && f[2] == uid)
                {
                    return f[0];
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return Environment.GetEnvironmentVariable("USER") ?? uid;
    }
}

internal static class PathResolver
{
    /// <summary>An absolute, normalized path; relative paths resolve against the server's working directory.</summary>
    public static string Resolve(ServerState state, string? path, string parameter = "path")
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0'))
        {
            throw new ApiException(400, ErrorIds.InvalidPath,
                string.IsNullOrEmpty(path) ? $"The {parameter} is empty; give an absolute path or one relative to the working directory {state.WorkDir}."
                                           : $"The {parameter} contains a NUL character.");
        }
        var full = Path.IsPathRooted(path) ? path : Path.Combine(state.WorkDir, path);
        full = Path.GetFullPath(full);
        if (full.Length > 1 && full.EndsWith('/'))
        {
            full = full.TrimEnd('/');
        }
        return full;
    }
}
