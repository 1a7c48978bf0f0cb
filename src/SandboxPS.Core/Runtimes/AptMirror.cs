using System.Net;
using System.Net.Sockets;

namespace SandboxPS.Core.Runtimes;

/// <summary>This machine's apt mirrors, as <c>host:ip</c> entries for build containers.</summary>
public static class AptMirror
{
    /// <summary>
    /// Host names of the mirrors in /etc/apt/sources.list and /etc/apt/sources.list.d (read now),
    /// each with the IPv4 address this machine resolves for it. Empty when there is no apt.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ExtraHostsAsync(CancellationToken cancellationToken = default)
    {
        var result = new List<string>();
        foreach (var host in MirrorHosts())
        {
            try
            {
                var addresses = await Dns.GetHostAddressesAsync(host, AddressFamily.InterNetwork, cancellationToken).ConfigureAwait(false);
                if (addresses.Length > 0)
                {
                    result.Add(host + ":" + addresses[0]);
                }
            }
            catch (SocketException)
            {
                // Unresolvable here: the build cannot use it either way.
            }
        }
        return result;
    }

    /// <summary>Host names of http(s) mirrors in this machine's apt sources.</summary>
    public static IReadOnlyList<string> MirrorHosts()
    {
        var files = new List<string>();
        if (File.Exists("/etc/apt/sources.list"))
        {
            files.Add("/etc/apt/sources.list");
        }
        if (Directory.Exists("/etc/apt/sources.list.d"))
        {
            files.AddRange(Directory.EnumerateFiles("/etc/apt/sources.list.d").Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)));
        }
        var hosts = new List<string>();
        foreach (var file in files)
        {
            IEnumerable<string> lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var raw in lines)
            {
                var line = raw.Trim();
                IEnumerable<string> uris = line.StartsWith("URIs:", StringComparison.OrdinalIgnoreCase)
                    ? line[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    : line.StartsWith("deb", StringComparison.Ordinal)
                        ? line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Contains("://", StringComparison.Ordinal))
                        : [];
                foreach (var uri in uris)
                {
                    if (Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
                        && parsed.HostNameType == UriHostNameType.Dns && parsed.Host != "localhost" && !hosts.Contains(parsed.Host))
                    {
                        hosts.Add(parsed.Host);
                    }
                }
            }
        }
        return hosts;
    }
}
