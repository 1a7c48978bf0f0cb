namespace SandboxPS.Core.Providers.Docker;

/// <summary>
/// Where the Docker engine listens, as <c>DOCKER_HOST</c>, <c>DOCKER_TLS_VERIFY</c> and
/// <c>DOCKER_CERT_PATH</c> say (the docker CLI's variables, with its defaults).
/// </summary>
internal sealed record DockerEndpoint
{
    /// <summary>Default engine socket on Linux.</summary>
    public const string DefaultUnixSocket = "/var/run/docker.sock";

    /// <summary>What the user gave or the default, for messages (<c>unix:///var/run/docker.sock</c>).</summary>
    public required string Display { get; init; }

    /// <summary>Path of the engine's unix socket; null for TCP.</summary>
    public string? UnixSocketPath { get; init; }

    /// <summary>Base address of HTTP requests (<c>http://localhost</c> for unix sockets).</summary>
    public required Uri BaseAddress { get; init; }

    /// <summary>TLS with the certificates of <see cref="CertPath"/> (DOCKER_TLS_VERIFY).</summary>
    public bool TlsVerify { get; init; }

    /// <summary>Directory holding ca.pem, cert.pem and key.pem.</summary>
    public string? CertPath { get; init; }

    /// <summary>True when the engine runs on this machine (unix socket), so host paths can be bind-mounted.</summary>
    public bool IsLocal => UnixSocketPath is not null;

    /// <summary>Reads the docker CLI's environment variables.</summary>
    /// <exception cref="SandboxException">InvalidArgument "InvalidDockerHost" for a value we cannot use.</exception>
    public static DockerEndpoint FromEnvironment()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var tlsVerify = Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY");
        var certPath = Environment.GetEnvironmentVariable("DOCKER_CERT_PATH");
        return Parse(host, !string.IsNullOrEmpty(tlsVerify) && tlsVerify != "0" && !tlsVerify.Equals("false", StringComparison.OrdinalIgnoreCase),
                     certPath);
    }

    /// <summary>Parses a DOCKER_HOST value (null or empty = the default unix socket).</summary>
    public static DockerEndpoint Parse(string? host, bool tlsVerify = false, string? certPath = null)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            return new DockerEndpoint
            {
                Display = "unix://" + DefaultUnixSocket,
                UnixSocketPath = DefaultUnixSocket,
                BaseAddress = new Uri("http://localhost/"),
            };
        }
        host = host.Trim();
        if (host.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = host["unix://".Length..];
            if (path.Length == 0 || path[0] != '/')
            {
                throw Invalid(host, "a unix socket needs an absolute path, e.g. unix:///var/run/docker.sock");
            }
            return new DockerEndpoint { Display = host, UnixSocketPath = path, BaseAddress = new Uri("http://localhost/") };
        }
        if (host.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)
            || host.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || host.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = host[(host.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
            var tls = tlsVerify || host.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            if (rest.Length == 0 || rest.Contains('/') || rest.Contains('@'))
            {
                throw Invalid(host, "expected tcp://HOST:PORT");
            }
            if (!Uri.TryCreate((tls ? "https://" : "http://") + rest, UriKind.Absolute, out var uri))
            {
                throw Invalid(host, "expected tcp://HOST:PORT");
            }
            if (uri.IsDefaultPort && !rest.EndsWith(":" + uri.Port, StringComparison.Ordinal))
            {
                uri = new UriBuilder(uri) { Port = tls ? 2376 : 2375 }.Uri;
            }
            var certs = tls ? (string.IsNullOrEmpty(certPath)
                                 ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker")
                                 : certPath)
                            : null;
            return new DockerEndpoint { Display = host, BaseAddress = uri, TlsVerify = tls, CertPath = certs };
        }
        if (host.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) || host.StartsWith("npipe://", StringComparison.OrdinalIgnoreCase))
        {
            throw new SandboxException(SandboxErrorKind.NotSupported, "DockerHostNotSupported",
                $"DOCKER_HOST '{host}' uses a transport SandboxPS does not speak (only unix:// and tcp://).")
            {
                RecommendedAction = "Forward the engine to a local socket (e.g. 'ssh -L /tmp/docker.sock:/var/run/docker.sock host') and set DOCKER_HOST=unix:///tmp/docker.sock.",
            };
        }
        throw Invalid(host, "expected unix:///path/to/docker.sock or tcp://HOST:PORT");
    }

    private static SandboxException Invalid(string host, string why) =>
        new(SandboxErrorKind.InvalidArgument, "InvalidDockerHost", $"DOCKER_HOST '{host}' is not usable: {why}.")
        {
            RecommendedAction = "Set DOCKER_HOST to unix:///var/run/docker.sock or tcp://HOST:PORT, or unset it to use the default socket.",
        };
}
