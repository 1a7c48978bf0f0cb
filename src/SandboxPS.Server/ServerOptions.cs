using System.Globalization;

namespace SandboxPS.Server;

/// <summary>The server's command line.</summary>
internal sealed class ServerOptions
{
    public string Host { get; private set; } = "127.0.0.1";
    public int Port { get; private set; }
    public string? UnixSocket { get; private set; }
    public UnixFileMode UnixMode { get; private set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public string? TokenFile { get; private set; }
    public string? WorkDir { get; private set; }
    public TimeSpan? IdleTimeout { get; private set; }
    public TimeSpan? Ttl { get; private set; }
    public int MaxSessions { get; private set; } = 32;
    public string? Shell { get; private set; }
    public bool Quiet { get; private set; } = true;
    public bool Help { get; private set; }
    public bool Version { get; private set; }

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

    /// <summary>Parses the command line; throws <see cref="OptionException"/> with a message for the user.</summary>
    public static ServerOptions Parse(string[] args)
    {
        var o = new ServerOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            string Value()
            {
                if (inline is not null) return inline;
                if (i + 1 >= args.Length) throw new OptionException($"Option {arg} needs a value.");
                return args[++i];
            }
            switch (arg)
            {
                case "--listen":
                    (o.Host, o.Port) = ParseListen(Value());
                    break;
                case "--unix":
                    o.UnixSocket = Value();
                    if (o.UnixSocket.Length == 0) throw new OptionException("--unix needs a socket path.");
                    break;
                case "--unix-mode":
                    o.UnixMode = ParseMode(Value());
                    break;
                case "--token-file":
                    o.TokenFile = Value();
                    break;
                case "--workdir":
                    o.WorkDir = Value();
                    break;
                case "--idle-timeout":
                    o.IdleTimeout = ParseDuration(Value(), arg);
                    break;
                case "--ttl":
                    o.Ttl = ParseDuration(Value(), arg);
                    break;
                case "--max-sessions":
                    var v = Value();
                    if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 10000)
                        throw new OptionException($"--max-sessions must be a whole number from 1 to 10000; got '{v}'.");
                    o.MaxSessions = n;
                    break;
                case "--shell":
                    o.Shell = Value();
                    if (!File.Exists(o.Shell)) throw new OptionException($"--shell '{o.Shell}' does not exist.");
                    break;
                case "--quiet":
                    o.Quiet = true;
                    break;
                case "--verbose":
                    o.Quiet = false;
                    break;
                case "--help" or "-h":
                    o.Help = true;
                    break;
                case "--version":
                    o.Version = true;
                    break;
                default:
                    throw new OptionException($"Unknown option '{args[i]}'. Run 'sandboxps-server --help' for the options.");
            }
        }
        return o;
    }

    private static UnixFileMode ParseMode(string value)
    {
        var digits = value.Trim();
        if (digits.Length is < 3 or > 4 || digits.Any(c => c is < '0' or > '7'))
        {
            throw new OptionException($"--unix-mode expects octal permission bits such as 0600 or 0666; got '{value}'.");
        }
        var mode = Convert.ToInt32(digits, 8);
        if (mode > 0x1FF)
        {
            throw new OptionException($"--unix-mode takes permission bits only (at most 0777); got '{value}'.");
        }
        if ((mode & 0x180) != 0x180)
        {
            throw new OptionException($"--unix-mode must let the server's own user read and write the socket (0600 at least); got '{value}'.");
        }
        return (UnixFileMode)mode;
    }

    private static (string, int) ParseListen(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new OptionException($"--listen expects HOST:PORT (e.g. 127.0.0.1:0 or 0.0.0.0:8080); got '{value}'.");
        }
        var host = value[..colon].Trim('[', ']');
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
        {
            throw new OptionException($"--listen expects an IP address or 'localhost' as HOST; got '{host}'.");
        }
        return (host, port);
    }

    /// <summary>90s, 10m, 2h, 1h30m, 500ms or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text, string option)
    {
        var s = text.Trim();
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && secs > 0 && secs < 1e9)
        {
            return TimeSpan.FromSeconds(secs);
        }
        var total = TimeSpan.Zero;
        int i = 0;
        bool any = false;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (start == i) { any = false; break; }
            if (!double.TryParse(s[start..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var num)) { any = false; break; }
            int ustart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            var unit = s[ustart..i].ToLowerInvariant();
            TimeSpan? part = unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(num),
                "s" => TimeSpan.FromSeconds(num),
                "m" => TimeSpan.FromMinutes(num),
                "h" => TimeSpan.FromHours(num),
                "d" => TimeSpan.FromDays(num),
                _ => null,
            };
            if (part is null) { any = false; break; }
            total += part.Value;
            any = true;
        }
        if (!any || total <= TimeSpan.Zero)
        {
            throw new OptionException($"{option} expects a duration such as 90s, 10m, 2h, 1h30m or a number of seconds; got '{text}'.");
        }
        return total;
    }
}

internal sealed class OptionException(string message) : Exception(message);
