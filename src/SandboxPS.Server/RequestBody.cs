using System.Buffers;
using Microsoft.AspNetCore.Http;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// Request bodies: JSON bodies are read whole, bounded (<see cref="JsonLimit"/>), into an array of
/// their own (never a pooled buffer that stays with the process), fingerprinted for X-Request-Id;
/// failures reading any body (bad chunking, a body cut short, over the limit) become 4xx problems.
/// </summary>
internal static class RequestBody
{
    /// <summary>The largest JSON body taken; large data travels as a stream (PUT /v1/files, PUT /v1/archive).</summary>
    public const int JsonLimit = 16 * 1024 * 1024;
    /// <summary>After a request whose body was at least this large, the server gives the memory back.</summary>
    public const int LargeBody = 1024 * 1024;
    private const string ItemKey = "sbx.jsonBody";

    public static ApiException TooLarge(long? length) => new(413, ErrorIds.RequestTooLarge,
        $"JSON bodies are limited to {JsonLimit / (1024 * 1024)} MiB" + (length is { } n ? $" (this one has {n} bytes)" : "") +
        ". Send large data as a stream instead: PUT /v1/files?path=FILE with the raw bytes, then POST /v1/exec with \"stdinPath\":\"FILE\" " +
        "(or read FILE from a session); PUT /v1/archive for a directory.");

    /// <summary>A failure while reading a request body, as the problem it is (the body, not the server, is at fault).</summary>
    public static Exception Failure(Exception ex) => ex switch
    {
        ApiException or OperationCanceledException => ex,
        BadHttpRequestException { StatusCode: 413 } => TooLarge(null),
        BadHttpRequestException bad => new ApiException(bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : 400, ErrorIds.InvalidRequest,
            "The request body could not be read: " + bad.Message),
        IOException io => new ApiException(400, ErrorIds.InvalidRequest,
            "The request body could not be read (malformed chunked encoding, or cut short): " + io.Message),
        _ => ex,
    };

    /// <summary>Reads the JSON body whole (at most <see cref="JsonLimit"/> bytes) and keeps it for <see cref="Api.ReadJsonAsync{T}"/>.</summary>
    public static async Task<byte[]> ReadJsonAsync(HttpContext ctx)
    {
        if (ctx.Items.TryGetValue(ItemKey, out var kept) && kept is byte[] done)
        {
            return done;
        }
        var request = ctx.Request;
        if (request.ContentLength > JsonLimit)
        {
            await DiscardAsync(ctx);
            throw TooLarge(request.ContentLength);
        }
        var reader = request.BodyReader;
        byte[] body;
        if (request.ContentLength is { } length)
        {
            body = new byte[length];
            int filled = 0;
            while (true)
            {
                var result = await ReadAsync(reader, ctx.RequestAborted);
                var buffer = result.Buffer;
                if (filled + buffer.Length > length)
                {
                    throw new ApiException(400, ErrorIds.InvalidRequest, "The request body is longer than its Content-Length.");
                }
                buffer.CopyTo(body.AsSpan(filled));
                filled += (int)buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            if (filled != length)
            {
                throw new ApiException(400, ErrorIds.InvalidRequest, $"The request body was cut short ({filled} of {length} bytes).");
            }
        }
        else
        {
            var collected = new ArrayBufferWriter<byte>();
            while (true)
            {
                var result = await ReadAsync(reader, ctx.RequestAborted);
                var buffer = result.Buffer;
                if (collected.WrittenCount + buffer.Length > JsonLimit)
                {
                    reader.AdvanceTo(buffer.End);
                    await DiscardAsync(ctx);
                    throw TooLarge(null);
                }
                foreach (var segment in buffer)
                {
                    collected.Write(segment.Span);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            body = collected.WrittenSpan.ToArray();
        }
        ctx.Items[ItemKey] = body;
        return body;
    }

    /// <summary>The most of an oversized body read away so that the client, still sending, gets the 413 (beyond it the connection closes).</summary>
    private const long DiscardLimit = 256L * 1024 * 1024;

    /// <summary>
    /// Reads an oversized body away (bounded, nothing kept): a client that sends its body before
    /// looking at the answer would otherwise see a broken connection instead of the 413. A client
    /// that asked "Expect: 100-continue" has sent nothing yet and gets the 413 at once.
    /// </summary>
    private static async Task DiscardAsync(HttpContext ctx)
    {
        if (ctx.Request.Headers.Expect.Any(e => string.Equals(e, "100-continue", StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }
        var reader = ctx.Request.BodyReader;
        long discarded = 0;
        try
        {
            while (discarded < DiscardLimit)
            {
                var result = await reader.ReadAsync(ctx.RequestAborted);
                discarded += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A body that cannot even be read away: the 413 still goes out if the connection allows.
        }
    }

    private static async ValueTask<System.IO.Pipelines.ReadResult> ReadAsync(System.IO.Pipelines.PipeReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.ReadAsync(ct);
        }
        catch (Exception ex)
        {
            throw Failure(ex);
        }
    }

    /// <summary>A fingerprint of a body, to tell a retry (same body) from a different request under the same id.</summary>
    public static string Fingerprint(ReadOnlySpan<byte> body)
    {
        // FNV-1a 64 plus the process-seeded HashCode and the length: not a cryptographic hash (both
        // bodies come from the same authenticated caller), but two different bodies do not meet by chance.
        ulong fnv = 14695981039346656037UL;
        foreach (var b in body)
        {
            fnv = (fnv ^ b) * 1099511628211UL;
        }
        var hc = new HashCode();
        hc.AddBytes(body);
        return $"{body.Length}:{fnv:x16}:{hc.ToHashCode():x8}";
    }

    private static int _collectQueued;

    /// <summary>
    /// After a large request the memory it took goes back to the system: a compacting collection
    /// once the request is done (at most one queued at a time), so a burst of large calls does not
    /// leave the server at its peak.
    /// </summary>
    public static void GiveBackMemorySoon()
    {
        if (Interlocked.Exchange(ref _collectQueued, 1) != 0)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            await Task.Delay(200);
            Interlocked.Exchange(ref _collectQueued, 0);
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        });
    }
}

/// <summary>A request body stream whose read failures are the body's fault (RequestBody.Failure), not the server's.</summary>
internal sealed class GuardedBodyStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return inner.Read(buffer, offset, count);
        }
        catch (Exception ex)
        {
            throw RequestBody.Failure(ex);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex)
        {
            throw RequestBody.Failure(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
