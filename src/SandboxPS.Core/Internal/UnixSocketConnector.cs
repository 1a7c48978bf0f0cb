using System.Net.Http;
using System.Net.Sockets;

namespace SandboxPS.Core.Internal;

/// <summary>Connects SocketsHttpHandler to a unix domain socket (sandbox servers without a network, the Docker engine).</summary>
internal static class UnixSocketConnector
{
    /// <summary>A ConnectCallback that opens a new connection to <paramref name="socketPath"/> each time.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> For(string socketPath) =>
        async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
}
