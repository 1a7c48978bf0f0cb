using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>The server's command line.</summary>
internal sealed class ServerOptions
{
    public string Host { get; private init; } = "127.0.0.1";
    public int Port { get; private init; }
    public string? UnixSocket { get; private init; }
    public UnixFileMode UnixMode { get; private init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public string? TokenFile { get; private init; }
    public string? WorkDir { get; private init; }
    public TimeSpan? IdleTimeout { get; private init; }
    public TimeSpan? Ttl { get; private init; }
    public int MaxSessions { get; private init; } = 32;
    public string? Shell { get; private init; }
    public bool Quiet { get; private init; } = true;
    public bool Help { get; private init; }
    public bool Version { get; private init; }

    public const string Usage = """
Usage: sandboxps-server [options]

The SandboxPS in-sandbox server (wire protocol v1, docs/protocol.md).

Options:
  --listen HOST:PORT       Address to listen on (default 127.0.0.1:0). Port 0 picks a free port.
                           The first stdout line is always {"listening":"http://HOST:PORT","pid":N}.
  --unix PATH              Listen on a unix socket instead (mode 0600, owned by the server's user);
                           the first stdout line is then {"listening":"unix:PATH","pid":N}.
  --unix-mode MODE         Octal permission bits of the --unix socket (default 0600), e.g. 0666 when
                           a host user other than the server's must connect; the token still applies.
  --token-file FILE        Read the bearer token from FILE (first line). Otherwise the token comes
                           from the environment variable SANDBOXPS_TOKEN, which is then removed from
                           the environment so sessions and exec never see it. A token is required.
  --workdir DIR            Working directory of sessions and exec, and base of relative paths
                           (default: the current directory).
  --idle-timeout DURATION  Exit (code 0) after this long without a request (default: never).
  --ttl DURATION           Exit (code 0) this long after start (default: never).
  --max-sessions N         Most sessions at once (default 32); more gives 429 CapacityReached.
  --shell PATH             Shell of shell sessions (default: bash when present, else /bin/sh).
  --quiet                  No logging (the default).
  --verbose                Log unexpected errors (with their stack) to stderr; never tokens or bodies.
  --version                Print the version and exit.
  --help                   Print this help and exit.

DURATION: 90s, 10m, 2h, 1h30m, 500ms, or a number of seconds.
Run as PID 1 (a container's entrypoint), the server starts itself as a child and stays as a tiny
init that reaps orphaned processes and forwards SIGTERM/SIGINT.
Exit codes: 0 normal end (shutdown, idle timeout, ttl), 2 bad command line, 1 start failure.
""";

    /// <summary>
    /// Parses the command line with the launch-options type providers use to build it
    /// (<see cref="ServerLaunchOptions"/>), so the flags cannot drift; throws <see cref="OptionException"/>.
    /// </summary>
    public static ServerOptions Parse(string[] args)
    {
        ServerLaunchOptions launch;
        try
        {
            launch = ServerLaunchOptions.Parse(args);
        }
        catch (ServerLaunchOptionException ex)
        {
            throw new OptionException(ex.Message);
        }
        if (launch.Shell is { } shell && !File.Exists(shell))
        {
            throw new OptionException($"{ServerLaunchOptions.Flags.Shell} '{shell}' does not exist.");
        }
        var (host, port) = launch.ListenEndpoint;
        return new ServerOptions
        {
            Host = host,
            Port = port,
            UnixSocket = launch.UnixSocket,
            UnixMode = launch.UnixMode ?? ServerLaunchOptions.DefaultUnixMode,
            TokenFile = launch.TokenFile,
            WorkDir = launch.WorkDir,
            IdleTimeout = launch.IdleTimeout,
            Ttl = launch.Ttl,
            MaxSessions = launch.MaxSessions ?? 32,
            Shell = launch.Shell,
            Quiet = !launch.Verbose,
            Help = launch.Help,
            Version = launch.Version,
        };
    }

    /// <summary>90s, 10m, 2h, 1h30m, 500ms or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text, string option)
    {
        try
        {
            return ServerLaunchOptions.ParseDuration(text, option);
        }
        catch (ServerLaunchOptionException ex)
        {
            throw new OptionException(ex.Message);
        }
    }
}

internal sealed class OptionException(string message) : Exception(message);
