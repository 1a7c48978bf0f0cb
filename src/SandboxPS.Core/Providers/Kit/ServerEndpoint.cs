using System.Globalization;
using System.Text.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Providers.Kit;

/// <summary>Endpoint and token discovery: how a provider learns where its server listens and hands it its token.</summary>
public static class ServerEndpoint
{
    /// <summary><c>http://127.0.0.1:PORT</c>: a port the provider published on loopback.</summary>
    public static string Loopback(int port) => "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);

    /// <summary><c>unix:PATH</c>: a unix socket on this machine.</summary>
    public static string UnixSocket(string path) => "unix:" + path;

    /// <summary>
    /// Reads the server's first stdout line, <c>{"listening":"http://HOST:PORT","pid":N}</c> (or
    /// <c>unix:PATH</c>); false for anything else (the line may be incomplete or not that one).
    /// </summary>
    public static bool TryParseListeningLine(string line, out string endpoint, out int pid)
    {
        endpoint = "";
        pid = 0;
        var trimmed = line.Trim();
        if (!trimmed.StartsWith('{') || !trimmed.Contains("\"listening\"", StringComparison.Ordinal))
        {
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(trimmed);
            if (doc.RootElement.TryGetProperty("listening", out var l) && l.ValueKind == JsonValueKind.String
                && doc.RootElement.TryGetProperty("pid", out var p) && p.TryGetInt32(out var n) && n > 0
                && l.GetString() is { Length: > 0 } text)
            {
                endpoint = text;
                pid = n;
                return true;
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }
}

/// <summary>The per-sandbox bearer token: made by the client, handed to the server by environment, recovered the same way.</summary>
public static class ServerToken
{
    /// <summary>A new token (32 random bytes, base64url).</summary>
    public static string New() => SandboxLabelBuilder.NewToken();

    /// <summary>The <c>KEY=VALUE</c> entry that hands <paramref name="token"/> to the server.</summary>
    public static string EnvironmentEntry(string token) => ProtocolConstants.TokenEnvironmentVariable + "=" + token;

    /// <summary>The token in a <c>KEY=VALUE</c> environment list (a container's config); null when absent.</summary>
    public static string? FromEnvironment(IEnumerable<string>? environment)
    {
        var prefix = ProtocolConstants.TokenEnvironmentVariable + "=";
        return environment?.FirstOrDefault(e => e.StartsWith(prefix, StringComparison.Ordinal)) is { } entry ? entry[prefix.Length..] : null;
    }
}
