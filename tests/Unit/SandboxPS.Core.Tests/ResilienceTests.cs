using System.Net;
using System.Net.Sockets;
using System.Text;
using SandboxPS.Core.Internal;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

public class ResilienceTests
{
    [Fact(Timeout = 30_000)]
    public async Task Pipeline_RetriesTransportFailures_ThenGivesUp()
    {
        int attempts = 0;
        await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await ClientResilience.Transport.ExecuteAsync<int>(_ => { attempts++; throw new HttpRequestException("refused"); }));
        Assert.Equal(ClientResilience.MaxRetryAttempts + 1, attempts);
    }

    [Fact(Timeout = 30_000)]
    public async Task Pipeline_DoesNotRetryOtherFailures()
    {
        int attempts = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await ClientResilience.Transport.ExecuteAsync<int>(_ => { attempts++; throw new InvalidOperationException("bug"); }));
        Assert.Equal(1, attempts);
    }

    /// <summary>
    /// A loopback listener that drops the first connection before answering (a transport failure before
    /// any response) and answers the second: the client retries, with the same X-Request-Id.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task Client_RetriesADroppedConnection_WithTheSameRequestId()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var requestIds = new List<string>();
        var server = Task.Run(async () =>
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                using var socket = await listener.AcceptSocketAsync();
                var buffer = new byte[8192];
                var text = new StringBuilder();
                while (!text.ToString().Contains("\r\n\r\n"))
                {
                    var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                    if (n == 0)
                    {
                        break;
                    }
                    text.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                var header = text.ToString().Split("\r\n").First(l => l.StartsWith(ProtocolConstants.RequestIdHeader + ":", StringComparison.OrdinalIgnoreCase));
                requestIds.Add(header[(header.IndexOf(':') + 1)..].Trim());
                if (attempt == 0)
                {
                    socket.LingerState = new LingerOption(true, 0);   // reset: no response at all
                    socket.Close();
                    continue;
                }
                await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), SocketFlags.None);
            }
        });

        using var client = new SandboxClient($"http://127.0.0.1:{port}", "t");
        await client.DeleteSessionAsync("s1");
        await server;

        Assert.Equal(2, requestIds.Count);
        Assert.Equal(requestIds[0], requestIds[1]);
        Assert.Matches("^[0-9a-f]{32}$", requestIds[0]);
    }
}
