using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace SandboxPS.Server;

/// <summary>
/// Kestrel's connections over plain sockets (TCP or unix), receiving in 64 KiB reads.
/// </summary>
/// <remarks>
/// Why not Kestrel's own socket transport: in ASP.NET Core 8 it receives into 4 KiB pool blocks, each
/// read preceded by a zero-byte "wait for data" read, so a 100 MiB upload cost ~51,000 recvfrom calls,
/// each with a pipe flush and a thread-pool hand-off (strace and perf of the bench's upload). Here a busy
/// connection reads 64 KiB at a time and skips the zero-byte wait while the socket keeps filling the
/// buffer; an idle connection still waits with a zero-byte read, holds no buffer, and reads a request
/// into a 4 KiB one.
/// </remarks>
internal sealed class BulkSocketTransportFactory : IConnectionListenerFactory
{
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var socket = endpoint switch
        {
            UnixDomainSocketEndPoint => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
            IPEndPoint ip => new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp),
            _ => throw new NotSupportedException($"Cannot listen on '{endpoint}': only IP and unix socket endpoints are supported."),
        };
        try
        {
            if (endpoint is IPEndPoint { Address: var address } && address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            if (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new AddressInUseException($"{endpoint} is already in use: {ex.Message}", ex);
            }
            throw new IOException($"cannot bind {endpoint}: {ex.Message}", ex);
        }
        return new ValueTask<IConnectionListener>(new BulkSocketListener(socket));
    }
}

internal sealed class BulkSocketListener(Socket listenSocket) : IConnectionListener
{
    private long _connections;

    public EndPoint EndPoint { get; } = listenSocket.LocalEndPoint!;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.InvalidArgument)
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                continue;
            }
            catch (SocketException)
            {
                // Out of descriptors or memory: keep serving, but do not spin.
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (socket.AddressFamily != AddressFamily.Unix)
            {
                socket.NoDelay = true;
            }
            var connection = new BulkSocketConnection(socket, "c" + Interlocked.Increment(ref _connections).ToString(System.Globalization.CultureInfo.InvariantCulture));
            connection.Start();
            return connection;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed class BulkSocketConnection : ConnectionContext, IMemoryPoolFeature
{
    private const int SmallRead = 4 * 1024;
    private const int ReceiveSize = 64 * 1024;
    private const int StreamingRead = 16 * 1024;
    private const long PauseAt = 1024 * 1024;

    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly object _gate = new();
    private bool _socketDisposed;
    private Exception? _shutdownReason;
    private Task _running = Task.CompletedTask;

    public BulkSocketConnection(Socket socket, string id)
    {
        _socket = socket;
        ConnectionId = id;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;
        // Kestrel reads the input on the thread pool; the loops here resume on it too.
        _input = new Pipe(new PipeOptions(MemoryPool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool,
                                          PauseAt, PauseAt / 2, SmallRead, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(MemoryPool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool,
                                           PauseAt, PauseAt / 2, 8 * 1024, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        Features.Set<IMemoryPoolFeature>(this);
    }

    public MemoryPool<byte> MemoryPool => BlockPool.Instance;

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();

    public override IDuplexPipe Transport { get; set; }

    public void Start() => _running = RunAsync();

    private async Task RunAsync()
    {
        var receiving = ReceiveLoopAsync();
        var sending = SendLoopAsync();
        await receiving.ConfigureAwait(false);
        await sending.ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        var writer = _input.Writer;
        try
        {
            bool streaming = false;
            while (true)
            {
                if (!streaming)
                {
                    // Idle or request/response traffic: wait for data before taking a buffer, then take
                    // a small one (200 connections at once each holding 64 KiB showed in the server's RSS).
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                }
                var memory = writer.GetMemory(streaming ? ReceiveSize : SmallRead);
                int n = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                // A body is streaming in: read again straight away, 64 KiB at a time (one syscall each, not two).
                streaming = n == memory.Length || n >= StreamingRead;
                writer.Advance(n);
                var flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            error = new ConnectionResetException(ex.Message, ex);
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            Exception? reason;
            lock (_gate)
            {
                reason = _shutdownReason;
            }
            await writer.CompleteAsync(reason ?? error).ConfigureAwait(false);
            // Kestrel aborts the request from this token; run its callbacks off the receive path, and
            // before DisposeAsync can dispose the source.
            await Task.Run(() => _closed.Cancel()).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync()
    {
        Exception? reason = null;
        Exception? unexpected = null;
        var reader = _output.Reader;
        var segments = new List<ArraySegment<byte>>();
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }
                var buffer = result.Buffer;
                if (buffer.IsSingleSegment)
                {
                    await SendAllAsync(buffer.First).ConfigureAwait(false);
                }
                else if (!buffer.IsEmpty)
                {
                    segments.Clear();
                    foreach (var memory in buffer)
                    {
                        segments.Add(MemoryMarshal.TryGetArray(memory, out var array) ? array : new ArraySegment<byte>(memory.ToArray()));
                    }
                    // A stream socket's send completes only when every byte is written.
                    await _socket.SendAsync(segments, SocketFlags.None).ConfigureAwait(false);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.OperationAborted
                                         or SocketError.Interrupted or SocketError.InvalidArgument)
        {
            reason = new ConnectionResetException(ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            reason = ex;
        }
        catch (Exception ex)
        {
            reason = ex;
            unexpected = ex;
        }
        finally
        {
            Shutdown(reason);
            await reader.CompleteAsync(unexpected).ConfigureAwait(false);
            _input.Writer.CancelPendingFlush();
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> memory)
    {
        while (!memory.IsEmpty)
        {
            int n = await _socket.SendAsync(memory, SocketFlags.None).ConfigureAwait(false);
            memory = memory[n..];
        }
    }

    private void Shutdown(Exception? reason)
    {
        lock (_gate)
        {
            if (_socketDisposed)
            {
                return;
            }
            _socketDisposed = true;
            _shutdownReason = reason ?? new ConnectionAbortedException("The connection was closed by the server.");
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            _socket.Dispose();
        }
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        Shutdown(abortReason);
        _output.Reader.CancelPendingRead();
    }

    public override async ValueTask DisposeAsync()
    {
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _closed.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

/// <summary>
/// 4-64 KiB blocks for the connections' pipes, kept for reuse (up to 2 MiB per size). With
/// <c>MemoryPool&lt;byte&gt;.Shared</c> most blocks of a streaming download overflowed the array pool's
/// per-core caches and became garbage: the server's peak RSS went from 20 to 87 MB on a 100 MiB download.
/// </summary>
internal sealed class BlockPool : MemoryPool<byte>
{
    public static readonly BlockPool Instance = new();

    private const int MinBlock = 4 * 1024;
    private const int MaxBlock = 64 * 1024;
    private const int KeptBytesPerSize = 2 * 1024 * 1024;
    private readonly ConcurrentQueue<byte[]>[] _free = [new(), new(), new(), new(), new()];
    private readonly int[] _kept = new int[5];

    public override int MaxBufferSize => MaxBlock;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        int size = minBufferSize <= MinBlock ? MinBlock : (int)BitOperations.RoundUpToPowerOf2((uint)minBufferSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, MaxBlock, nameof(minBufferSize));
        int index = BitOperations.Log2((uint)size) - 12;
        if (_free[index].TryDequeue(out var array))
        {
            Interlocked.Decrement(ref _kept[index]);
        }
        else
        {
            array = GC.AllocateUninitializedArray<byte>(size);
        }
        return new Block(this, array, index);
    }

    private void Return(byte[] array, int index)
    {
        if (Interlocked.Increment(ref _kept[index]) * (long)array.Length <= KeptBytesPerSize)
        {
            _free[index].Enqueue(array);
        }
        else
        {
            Interlocked.Decrement(ref _kept[index]);
        }
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(BlockPool pool, byte[] array, int index) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned)
            {
                pool.Return(returned, index);
            }
        }
    }
}
