using System.Formats.Tar;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

/// <summary>A temp directory removed at the end, whatever modes were left in it.</summary>
public sealed class TempTree : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sbx-copy-" + Guid.NewGuid().ToString("N")[..8]);

    public TempTree() => Directory.CreateDirectory(Path);

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            try
            {
                File.SetUnixFileMode(dir, (UnixFileMode)0x1c0);
            }
            catch (IOException)
            {
            }
        }
        Directory.Delete(Path, recursive: true);
    }
}

/// <summary>What a tree holds, item by item, never following a link: type, mode, content hash, link target.</summary>
public static class TreeSnapshot
{
    public static SortedDictionary<string, string> Take(string root, bool modes = true, bool mtimes = false)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (new FileInfo(root).LinkTarget is { } rootLink)
        {
            result[""] = "link " + rootLink;
            return result;
        }
        if (!Directory.Exists(root))
        {
            if (File.Exists(root))
            {
                result[""] = Describe(new FileInfo(root), modes, mtimes);
            }
            return result;
        }
        Walk(root, "", result, modes, mtimes);
        return result;
    }

    private static void Walk(string dir, string prefix, SortedDictionary<string, string> result, bool modes, bool mtimes)
    {
        foreach (var info in new DirectoryInfo(dir).EnumerateFileSystemInfos())
        {
            var name = prefix + info.Name;
            if (info.LinkTarget is { } link)
            {
                result[name] = "link " + link;
            }
            else if (info is DirectoryInfo)
            {
                result[name] = "dir" + (modes ? " " + Convert.ToString((int)info.UnixFileMode, 8) : "");
                Walk(info.FullName, name + "/", result, modes, mtimes);
            }
            else
            {
                result[name] = Describe((FileInfo)info, modes, mtimes);
            }
        }
    }

    private static string Describe(FileInfo file, bool modes, bool mtimes)
    {
        using var stream = file.OpenRead();
        var hash = Convert.ToHexString(SHA256.HashData(stream))[..16];
        return $"file {file.Length} {hash}" + (modes ? " " + Convert.ToString((int)file.UnixFileMode, 8) : "") +
               (mtimes ? " " + new DateTimeOffset(file.LastWriteTimeUtc).ToUnixTimeSeconds() : "");
    }

    public static void AssertSame(IDictionary<string, string> expected, IDictionary<string, string> actual, string what)
    {
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        var changed = expected.Keys.Intersect(actual.Keys).Where(k => expected[k] != actual[k]).Select(k => $"{k}: {expected[k]} -> {actual[k]}").ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && changed.Count == 0,
            $"{what}: missing [{string.Join(", ", missing)}] extra [{string.Join(", ", extra)}] changed [{string.Join("; ", changed)}]");
    }
}

/// <summary>Tars built entry by entry, including the ones no honest writer makes.</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _stream = new();

    public TarBuilder Dir(string name, int mode = 0x1ed) => Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)mode });

    public TarBuilder File(string name, string text, int mode = 0x1a4) =>
        Add(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)mode, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });

    public TarBuilder Symlink(string name, string target) => Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target });

    public TarBuilder HardLink(string name, string target) => Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target });

    public TarBuilder Entry(TarEntryType type, string name) => Add(new PaxTarEntry(type, name));

    public TarBuilder Add(TarEntry entry)
    {
        using var writer = new TarWriter(_stream, TarEntryFormat.Pax, leaveOpen: true);
        writer.WriteEntry(entry);
        // TarWriter's dispose writes the two end blocks; take them back so more entries can follow.
        writer.Dispose();
        _stream.SetLength(_stream.Length - 1024);
        _stream.Position = _stream.Length;
        return this;
    }

    /// <summary>A header announcing <paramref name="size"/> bytes (through a PAX size record) followed by <paramref name="actual"/> bytes of data.</summary>
    public TarBuilder Announcing(string name, long size, int actual)
    {
        var record = " size=" + size.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n";
        int length = record.Length + 2;
        while ((length.ToString(System.Globalization.CultureInfo.InvariantCulture) + record).Length != length)
        {
            length++;
        }
        var pax = Encoding.ASCII.GetBytes(length.ToString(System.Globalization.CultureInfo.InvariantCulture) + record);
        Raw(Header("PaxHeaders/" + name, 'x', pax.Length));
        Raw(Pad(pax));
        Raw(Header(name, '0', 0));
        Raw(Pad(new byte[actual]));
        return this;
    }

    public TarBuilder Raw(byte[] bytes)
    {
        _stream.Write(bytes);
        return this;
    }

    public byte[] Bytes(bool end = true)
    {
        var bytes = _stream.ToArray();
        return end ? [.. bytes, .. new byte[1024]] : bytes;
    }

    private static byte[] Pad(byte[] data) => [.. data, .. new byte[(512 - data.Length % 512) % 512]];

    /// <summary>A ustar header written by hand (name up to 100 bytes).</summary>
    public static byte[] Header(string name, char type, long size, string link = "")
    {
        var h = new byte[512];
        void Put(int offset, int width, string text) => Encoding.ASCII.GetBytes(text).AsSpan(0, Math.Min(width, text.Length)).CopyTo(h.AsSpan(offset));
        void Octal(int offset, int width, long value) => Put(offset, width, Convert.ToString(value, 8).PadLeft(width - 1, '0') + "\0");
        Encoding.UTF8.GetBytes(name).AsSpan(0, Math.Min(100, Encoding.UTF8.GetByteCount(name))).CopyTo(h);
        Octal(100, 8, 0x1a4);
        Octal(108, 8, 0);
        Octal(116, 8, 0);
        Octal(124, 12, size);
        Octal(136, 12, 1_700_000_000);
        h[156] = (byte)type;
        Put(157, 100, link);
        Put(257, 6, "ustar\0");
        Put(263, 2, "00");
        for (int i = 148; i < 156; i++)
        {
            h[i] = (byte)' ';
        }
        var sum = h.Sum(b => b);
        Put(148, 8, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        return h;
    }
}

/// <summary>
/// A loopback HTTP server that plays a sandbox's server: it answers stat with what the test says the item is
/// and the archive route with the test's bytes, as a hostile server would (no framing: it closes when done).
/// </summary>
public sealed class HostileServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public HostileServer()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The stat answer: "directory", "file", "symlink".</summary>
    public string ItemType { get; set; } = "directory";

    public byte[] Archive { get; set; } = [];

    /// <summary>When set, the archive answer is cut after this many bytes (the connection is reset, not closed cleanly).</summary>
    public int? ResetAfter { get; set; }

    public int UploadBytesRead { get; private set; }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public SandboxClient NewClient() => new(Endpoint, "hostile-token");

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream);
                var requestLine = head.Split("\r\n")[0].Split(' ');
                var (method, target) = (requestLine[0], requestLine[1]);
                if (target.StartsWith("/v1/files/stat", StringComparison.Ordinal))
                {
                    var path = Uri.UnescapeDataString(target[(target.IndexOf("path=", StringComparison.Ordinal) + 5)..]);
                    var entry = new FileEntry { Name = System.IO.Path.GetFileName(path.TrimEnd('/')), Path = path, Type = ItemType, Mode = 0x1ed };
                    var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(entry, ProtocolJsonContext.Default.FileEntry);
                    await WriteAsync(stream, $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\nConnection: close\r\n\r\n", json);
                }
                else if (target.StartsWith("/v1/archive", StringComparison.Ordinal) && method == "GET")
                {
                    var body = ResetAfter is { } cut ? Archive[..Math.Min(cut, Archive.Length)] : Archive;
                    await WriteAsync(stream, $"HTTP/1.1 200 OK\r\nContent-Type: {ProtocolConstants.TarMediaType}\r\nConnection: close\r\n\r\n", body);
                    if (ResetAfter is not null)
                    {
                        client.Client.LingerState = new LingerOption(true, 0);   // RST: the body ends without a clean close
                    }
                }
                else if (target.StartsWith("/v1/archive", StringComparison.Ordinal) && method == "PUT")
                {
                    // Reads a little of the upload, then drops the connection.
                    var buffer = new byte[4096];
                    UploadBytesRead += await stream.ReadAsync(buffer);
                    client.Client.LingerState = new LingerOption(true, 0);
                }
                else
                {
                    var json = "{\"title\":\"not found\",\"status\":404,\"errorId\":\"PathNotFound\"}"u8.ToArray();
                    await WriteAsync(stream, $"HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\nContent-Length: {json.Length}\r\nConnection: close\r\n\r\n", json);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 64 * 1024 && await stream.ReadAsync(one) == 1)
        {
            bytes.Add(one[0]);
            if (bytes.Count >= 4 && bytes[^1] == '\n' && bytes[^2] == '\r' && bytes[^3] == '\n' && bytes[^4] == '\r')
            {
                break;
            }
        }
        return Encoding.ASCII.GetString(bytes.ToArray());
    }

    private static async Task WriteAsync(NetworkStream stream, string head, byte[] body)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
