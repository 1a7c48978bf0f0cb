using System.Globalization;
using System.Net;

namespace SandboxPS.Protocol;

/// <summary>
/// The command line of <c>sandboxps-server</c>, as one type: providers build it and call
/// <see cref="ToArguments"/>; the server reads its own arguments with <see cref="Parse"/>. Flags live
/// only in <see cref="Flags"/>, so what a provider writes and what the server accepts cannot drift.
/// </summary>
public sealed class ServerLaunchOptions
{
    /// <summary>The server's flags (the only place they are spelled).</summary>
    public static class Flags
    {
        public const string Listen = "--listen";
        public const string Unix = "--unix";
        public const string UnixMode = "--unix-mode";
        public const string TokenFile = "--token-file";
        public const string WorkDir = "--workdir";
        public const string IdleTimeout = "--idle-timeout";
        public const string Ttl = "--ttl";
        public const string MaxSessions = "--max-sessions";
        public const string Shell = "--shell";
        public const string Quiet = "--quiet";
        public const string Verbose = "--verbose";
        public const string Version = "--version";
        public const string Help = "--help";
    }

    /// <summary>Largest <see cref="MaxSessions"/> the server accepts.</summary>
    public const int MaxSessionsLimit = 10000;

    /// <summary>Socket mode when <see cref="UnixMode"/> is not given: 0600.</summary>
    public const UnixFileMode DefaultUnixMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Listen address <c>HOST:PORT</c> (port 0: a free one); null = 127.0.0.1:0.</summary>
    public string? Listen { get; init; }

    /// <summary>Unix socket path to listen on instead of TCP.</summary>
    public string? UnixSocket { get; init; }

    /// <summary>Permission bits of the unix socket; null = <see cref="DefaultUnixMode"/>.</summary>
    public UnixFileMode? UnixMode { get; init; }

    /// <summary>File whose first line is the bearer token (else <see cref="ProtocolConstants.TokenEnvironmentVariable"/>).</summary>
    public string? TokenFile { get; init; }

    /// <summary>Working directory of sessions and exec.</summary>
    public string? WorkDir { get; init; }

    /// <summary>The server exits after this long without a request.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>The server exits this long after it started.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Most sessions at once.</summary>
    public int? MaxSessions { get; init; }

    /// <summary>Shell of shell sessions.</summary>
    public string? Shell { get; init; }

    /// <summary>Log unexpected errors to stderr.</summary>
    public bool Verbose { get; init; }

    /// <summary>Print the help and exit.</summary>
    public bool Help { get; init; }

    /// <summary>Print the version and exit.</summary>
    public bool Version { get; init; }

    /// <summary><c>HOST:PORT</c> for <see cref="Listen"/> (IPv6 hosts in brackets).</summary>
    public static string ListenOn(string host, int port) =>
        (host.Contains(':') ? "[" + host + "]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The host and port <see cref="Listen"/> names (127.0.0.1:0 when not given).</summary>
    public (string Host, int Port) ListenEndpoint => Listen is null ? ("127.0.0.1", 0) : ParseListen(Listen);

    /// <summary>The arguments that launch the server with these options (after the binary's path).</summary>
    public IReadOnlyList<string> ToArguments()
    {
        var args = new List<string>();
        if (UnixSocket is not null)
        {
            args.AddRange([Flags.Unix, UnixSocket]);
            if (UnixMode is { } mode)
            {
                args.AddRange([Flags.UnixMode, FormatMode(mode)]);
            }
        }
        else if (Listen is not null)
        {
            args.AddRange([Flags.Listen, Listen]);
        }
        if (TokenFile is not null)
        {
            args.AddRange([Flags.TokenFile, TokenFile]);
        }
        if (WorkDir is not null)
        {
            args.AddRange([Flags.WorkDir, WorkDir]);
        }
        if (Ttl is { } ttl)
        {
            args.AddRange([Flags.Ttl, FormatDuration(ttl)]);
        }
        if (IdleTimeout is { } idle)
        {
            args.AddRange([Flags.IdleTimeout, FormatDuration(idle)]);
        }
        if (MaxSessions is { } max)
        {
            args.AddRange([Flags.MaxSessions, max.ToString(CultureInfo.InvariantCulture)]);
        }
        if (Shell is not null)
        {
            args.AddRange([Flags.Shell, Shell]);
        }
        if (Verbose)
        {
            args.Add(Flags.Verbose);
        }
        return args;
    }

    /// <summary>Reads a server command line; throws <see cref="ServerLaunchOptionException"/> with a message for the user.</summary>
    public static ServerLaunchOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? listen = null, unix = null, tokenFile = null, workDir = null, shell = null;
        UnixFileMode? unixMode = null;
        TimeSpan? idle = null, ttl = null;
        int? maxSessions = null;
        bool verbose = false, help = false, version = false;
        for (int i = 0; i < args.Count; i++)
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
                if (i + 1 >= args.Count) throw new ServerLaunchOptionException($"Option {arg} needs a value.");
                return args[++i];
            }
            switch (arg)
            {
                case Flags.Listen:
                    listen = Value();
                    ParseListen(listen);
                    break;
                case Flags.Unix:
                    unix = Value();
                    if (unix.Length == 0) throw new ServerLaunchOptionException($"{Flags.Unix} needs a socket path.");
                    break;
                case Flags.UnixMode:
                    unixMode = ParseMode(Value());
                    break;
                case Flags.TokenFile:
                    tokenFile = Value();
                    break;
                case Flags.WorkDir:
                    workDir = Value();
                    break;
                case Flags.IdleTimeout:
                    idle = ParseDuration(Value(), arg);
                    break;
                case Flags.Ttl:
                    ttl = ParseDuration(Value(), arg);
                    break;
                case Flags.MaxSessions:
                    var v = Value();
                    if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > MaxSessionsLimit)
                        throw new ServerLaunchOptionException($"{Flags.MaxSessions} must be a whole number from 1 to {MaxSessionsLimit}; got '{v}'.");
                    maxSessions = n;
                    break;
                case Flags.Shell:
                    shell = Value();
                    break;
                case Flags.Quiet:
                    verbose = false;
                    break;
                case Flags.Verbose:
                    verbose = true;
                    break;
                case Flags.Help or "-h":
                    help = true;
                    break;
                case Flags.Version:
                    version = true;
                    break;
                default:
                    throw new ServerLaunchOptionException($"Unknown option '{args[i]}'. Run 'sandboxps-server --help' for the options.");
            }
        }
        return new ServerLaunchOptions
        {
            Listen = listen, UnixSocket = unix, UnixMode = unixMode, TokenFile = tokenFile, WorkDir = workDir,
            IdleTimeout = idle, Ttl = ttl, MaxSessions = maxSessions, Shell = shell, Verbose = verbose, Help = help, Version = version,
        };
    }

    /// <summary>A duration as the server reads it: whole seconds, rounded up, at least 1 (<c>90s</c>).</summary>
    public static string FormatDuration(TimeSpan value) =>
        Math.Max(1L, (long)Math.Ceiling(value.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";

    /// <summary>90s, 10m, 2h, 1h30m, 500ms or plain seconds; the message names <paramref name="option"/>.</summary>
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
            TimeSpan? part = s[ustart..i].ToLowerInvariant() switch
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
            throw new ServerLaunchOptionException($"{option} expects a duration such as 90s, 10m, 2h, 1h30m or a number of seconds; got '{text}'.");
        }
        return total;
    }

    private static string FormatMode(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');

    private static UnixFileMode ParseMode(string value)
    {
        var digits = value.Trim();
        if (digits.Length is < 3 or > 4 || digits.Any(c => c is < '0' or > '7'))
        {
            throw new ServerLaunchOptionException($"{Flags.UnixMode} expects octal permission bits such as 0600 or 0666; got '{value}'.");
        }
        var mode = Convert.ToInt32(digits, 8);
        if (mode > 0x1FF)
        {
            throw new ServerLaunchOptionException($"{Flags.UnixMode} takes permission bits only (at most 0777); got '{value}'.");
        }
        if ((mode & 0x180) != 0x180)
        {
            throw new ServerLaunchOptionException($"{Flags.UnixMode} must let the server's own user read and write the socket (0600 at least); got '{value}'.");
        }
        return (UnixFileMode)mode;
    }

    private static (string, int) ParseListen(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new ServerLaunchOptionException($"{Flags.Listen} expects HOST:PORT (e.g. 127.0.0.1:0 or 0.0.0.0:8080); got '{value}'.");
        }
        var host = value[..colon].Trim('[', ']');
        if (host != "localhost" && !IPAddress.TryParse(host, out _))
        {
            throw new ServerLaunchOptionException($"{Flags.Listen} expects an IP address or 'localhost' as HOST; got '{host}'.");
        }
        return (host, port);
    }
}

/// <summary>A server command line that <see cref="ServerLaunchOptions.Parse"/> cannot accept; the message says why.</summary>
public sealed class ServerLaunchOptionException(string message) : FormatException(message);
