using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class FileTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private string NewDir()
    {
        var dir = Path.Combine(Server.WorkDir, "files-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private async Task<WriteResponse> PutAsync(string path, byte[] data, string query = "", HttpStatusCode expected = HttpStatusCode.Created)
    {
        using var content = new ByteArrayContent(data);
        using var response = await Server.Http.PutAsync($"/v1/files?path={Uri.EscapeDataString(path)}{query}", content);
        await ServerProcess.Expect(response, expected);
        return (await response.Content.ReadFromJsonAsync(ProtocolJsonContext.Default.WriteResponse))!;
    }

    [Fact(Timeout = 30000)]
    public async Task Write_CreatesParents_SetsMode_ReadsBack()
    {
        var dir = NewDir();
        var path = Path.Combine(dir, "a/b/c.sh");
        var w = await PutAsync(path, "#!/bin/sh\necho hi\n"u8.ToArray(), "&mode=755");
        Assert.Equal(18, w.Bytes);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(path));
        Assert.Equal("#!/bin/sh\necho hi\n", await Server.Http.GetStringAsync($"/v1/files?path={Uri.EscapeDataString(path)}"));
        var stat = await Server.GetAsync($"/v1/files/stat?path={Uri.EscapeDataString(path)}", ProtocolJsonContext.Default.FileEntry);
        Assert.Equal("file", stat.Type);
        Assert.Equal(18, stat.Size);
        Assert.Equal(0b111_101_101, stat.Mode);
        Assert.Equal("c.sh", stat.Name);
        // It runs.
        Assert.Equal("hi\n", (await Server.ExecAsync(new ExecRequest { Argv = [path] })).Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task Write_Overwrite_KeepsMode_OverwriteFalse409()
    {
        var dir = NewDir();
        var path = Path.Combine(dir, "f.txt");
        await PutAsync(path, "one"u8.ToArray(), "&mode=600");
        await PutAsync(path, "two"u8.ToArray());
        Assert.Equal("two", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var content = new ByteArrayContent("three"u8.ToArray());
        using var response = await Server.Http.PutAsync($"/v1/files?path={path}&overwrite=false", content);
        await ServerProcess.ProblemAsync(response, HttpStatusCode.Conflict, ErrorIds.PathExists);
        Assert.Equal("two", File.ReadAllText(path));
        Assert.Empty(Directory.GetFiles(dir, "*.sbx-tmp", SearchOption.AllDirectories));
    }

    [Fact(Timeout = 30000)]
    public async Task Write_NoMkdirs_404_DirectoryTarget_400()
    {
        var dir = NewDir();
        using (var c = new ByteArrayContent([1]))
        using (var r = await Server.Http.PutAsync($"/v1/files?path={dir}/missing/x&mkdirs=false", c))
        {
            await ServerProcess.ProblemAsync(r, HttpStatusCode.NotFound, ErrorIds.PathNotFound);
        }
        using (var c = new ByteArrayContent([1]))
        using (var r = await Server.Http.PutAsync($"/v1/files?path={dir}", c))
        {
            await ServerProcess.ProblemAsync(r, HttpStatusCode.BadRequest, ErrorIds.PathIsDirectory);
        }
        using (var c = new ByteArrayContent([1]))
        using (var r = await Server.Http.PutAsync($"/v1/files?path={dir}/m&mode=999", c))
        {
            await ServerProcess.ProblemAsync(r, HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        }
    }

    [Fact(Timeout = 30000)]
    public async Task RelativePath_ResolvesAgainstWorkDir()
    {
        var name = "rel-" + Guid.NewGuid().ToString("n")[..6] + ".txt";
        var w = await PutAsync(name, "rel"u8.ToArray());
        Assert.Equal(Path.Combine(Server.WorkDir, name), w.Path);
        Assert.Equal("rel", File.ReadAllText(Path.Combine(Server.WorkDir, name)));
    }

    [Theory(Timeout = 30000)]
    [InlineData("/v1/files?path=")]
    [InlineData("/v1/files")]
    [InlineData("/v1/files/stat?path=a%00b")]
    [InlineData("/v1/files/text?path=")]
    public async Task BadPath_400InvalidPath(string url)
    {
        using var response = await Server.Http.GetAsync(url);
        await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.InvalidPath);
    }

    [Fact(Timeout = 30000)]
    public async Task Missing_404PathNotFound()
    {
        foreach (var url in new[] { "/v1/files?path=/no/such/file", "/v1/files/text?path=/no/such/file", "/v1/files/stat?path=/no/such/file", "/v1/files/list?path=/no/such/dir" })
        {
            using var response = await Server.Http.GetAsync(url);
            await ServerProcess.ProblemAsync(response, HttpStatusCode.NotFound, ErrorIds.PathNotFound);
        }
        using var d = await Server.Http.DeleteAsync("/v1/files?path=/no/such/file");
        await ServerProcess.ProblemAsync(d, HttpStatusCode.NotFound, ErrorIds.PathNotFound);
    }

    [Fact(Timeout = 30000)]
    public async Task ReadRaw_OffsetAndLength()
    {
        var dir = NewDir();
        var path = Path.Combine(dir, "digits");
        File.WriteAllText(path, "0123456789");
        Assert.Equal("3456", await Server.Http.GetStringAsync($"/v1/files?path={path}&offset=3&length=4"));
        Assert.Equal("89", await Server.Http.GetStringAsync($"/v1/files?path={path}&offset=8"));
        Assert.Equal("", await Server.Http.GetStringAsync($"/v1/files?path={path}&offset=20"));
        using var bad = await Server.Http.GetAsync($"/v1/files?path={path}&offset=-1");
        await ServerProcess.ProblemAsync(bad, HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
    }

    [Fact(Timeout = 30000)]
    public async Task ReadText_LineRange()
    {
        var dir = NewDir();
        var path = Path.Combine(dir, "lines.txt");
        File.WriteAllText(path, "l1\nl2\nl3\nl4\nl5");
        var all = await Server.GetAsync($"/v1/files/text?path={path}", ProtocolJsonContext.Default.FileTextResponse);
        Assert.Equal("l1\nl2\nl3\nl4\nl5", all.Content);
        Assert.Equal(5, all.TotalLines);
        var part = await Server.GetAsync($"/v1/files/text?path={path}&startLine=2&endLine=3", ProtocolJsonContext.Default.FileTextResponse);
        Assert.Equal("l2\nl3\n", part.Content);
        Assert.Equal(2, part.StartLine);
        Assert.Equal(3, part.EndLine);
        var tail = await Server.GetAsync($"/v1/files/text?path={path}&startLine=4&endLine=-1", ProtocolJsonContext.Default.FileTextResponse);
        Assert.Equal("l4\nl5", tail.Content);
        using var bad = await Server.Http.GetAsync($"/v1/files/text?path={path}&startLine=9");
        await ServerProcess.ProblemAsync(bad, HttpStatusCode.BadRequest, ErrorIds.EditInvalidRange);
        using var dirRead = await Server.Http.GetAsync($"/v1/files/text?path={dir}");
        await ServerProcess.ProblemAsync(dirRead, HttpStatusCode.BadRequest, ErrorIds.PathIsDirectory);
    }

    [Fact(Timeout = 30000)]
    public async Task List_Stat_Symlink_Delete()
    {
        var dir = NewDir();
        File.WriteAllText(Path.Combine(dir, "b.txt"), "bb");
        Directory.CreateDirectory(Path.Combine(dir, "a-dir"));
        File.WriteAllText(Path.Combine(dir, "a-dir", "inner"), "i");
        File.CreateSymbolicLink(Path.Combine(dir, "c-link"), "b.txt");
        var list = await Server.GetAsync($"/v1/files/list?path={dir}", ProtocolJsonContext.Default.FileListResponse);
        Assert.Equal(["a-dir", "b.txt", "c-link"], list.Entries.Select(e => e.Name).ToArray());
        Assert.Equal(["directory", "file", "symlink"], list.Entries.Select(e => e.Type).ToArray());
        Assert.Equal("b.txt", list.Entries[2].LinkTarget);
        using (var notDir = await Server.Http.GetAsync($"/v1/files/list?path={dir}/b.txt"))
        {
            await ServerProcess.ProblemAsync(notDir, HttpStatusCode.BadRequest, ErrorIds.NotADirectory);
        }
        using (var d = await Server.Http.DeleteAsync($"/v1/files?path={dir}/a-dir"))
        {
            var p = await ServerProcess.ProblemAsync(d, HttpStatusCode.Conflict, ErrorIds.DirectoryNotEmpty);
            Assert.Contains("recursive=true", p.Detail);
        }
        using (var d = await Server.Http.DeleteAsync($"/v1/files?path={dir}/c-link"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        Assert.True(File.Exists(Path.Combine(dir, "b.txt")));
        using (var d = await Server.Http.DeleteAsync($"/v1/files?path={dir}/a-dir&recursive=true"))
        {
            await ServerProcess.Expect(d, HttpStatusCode.NoContent);
        }
        Assert.False(Directory.Exists(Path.Combine(dir, "a-dir")));
    }

    [Fact(Timeout = 120000)]
    public async Task File200MB_StreamedBothWays_MemoryFlat_ChecksumEqual()
    {
        const long size = 200L * 1024 * 1024;
        var dir = NewDir();
        var path = Path.Combine(dir, "big.bin");
        var rssBefore = Server.RssKb();
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Server.RssKb());
                await Task.Delay(20);
            }
        });
        byte[] upHash;
        using (var source = new PatternStream(size))
        {
            using var content = new StreamContent(source, 256 * 1024);
            using var response = await Server.Http.PutAsync($"/v1/files?path={path}", content);
            await ServerProcess.Expect(response, HttpStatusCode.Created);
            upHash = source.Hash();
        }
        Assert.Equal(size, new FileInfo(path).Length);
        byte[] downHash;
        using (var response = await Server.Http.GetAsync($"/v1/files?path={path}", HttpCompletionOption.ResponseHeadersRead))
        {
            await ServerProcess.Expect(response, HttpStatusCode.OK);
            Assert.Equal(size, response.Content.Headers.ContentLength);
            await using var body = await response.Content.ReadAsStreamAsync();
            downHash = await SHA256.HashDataAsync(body);
        }
        sampling.Cancel();
        await sampler;
        Assert.Equal(Convert.ToHexString(upHash), Convert.ToHexString(downHash));
        Assert.True(peak < 100 * 1024, $"server RSS peaked at {peak / 1024} MB during a 200 MB transfer (before: {rssBefore / 1024} MB): not streamed");
        File.Delete(path);
    }

    [Fact(Timeout = 120000)]
    public async Task Write_ContentLength64MB_UnevenWrites_ChecksumEqual()
    {
        // Content-Length body (what SandboxClient sends for a seekable stream), written by the client in
        // uneven pieces so the server's batches cross buffer boundaries everywhere.
        const long size = 64L * 1024 * 1024 + 12345;
        var dir = NewDir();
        var path = Path.Combine(dir, "sized.bin");
        using var source = new PatternStream(size);
        using var content = new SizedContent(source, size);
        using var response = await Server.Http.PutAsync($"/v1/files?path={path}", content);
        await ServerProcess.Expect(response, HttpStatusCode.Created);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var written = await response.Content.ReadFromJsonAsync(ProtocolJsonContext.Default.WriteResponse);
        Assert.Equal(size, written!.Bytes);
        byte[] onDisk;
        await using (var file = File.OpenRead(path))
        {
            onDisk = await SHA256.HashDataAsync(file);
        }
        Assert.Equal(Convert.ToHexString(source.Hash()), Convert.ToHexString(onDisk));
        Assert.Empty(Directory.GetFiles(dir, "*.sbx-tmp"));
        File.Delete(path);
    }

    [Theory(Timeout = 60000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_ClientGoneMidBody_OldFileKept_NoTempLeft(bool reset)
    {
        var dir = NewDir();
        var path = Path.Combine(dir, "keep.txt");
        File.WriteAllText(path, "old");
        var server = new Uri(Server.Url);
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await socket.ConnectAsync(server.Host, server.Port);
            var head = $"PUT /v1/files?path={Uri.EscapeDataString(path)} HTTP/1.1\r\nHost: {server.Authority}\r\n" +
                       $"Authorization: Bearer {Server.Token}\r\nContent-Length: {64 << 20}\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(head));
            var chunk = new byte[1 << 20];
            for (int i = 0; i < 3; i++)
            {
                await socket.SendAsync(chunk);
            }
            await Until(() => Directory.GetFiles(dir, "*.sbx-tmp").Length > 0, "the upload's temp file to appear");
            if (reset)
            {
                socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            }
            else
            {
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            }
        }
        await Until(() => Directory.GetFiles(dir, "*.sbx-tmp").Length == 0, "the temp file to be removed after the client left");
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["keep.txt"], Directory.GetFiles(dir).Select(Path.GetFileName));
        await PutAsync(path, "new"u8.ToArray());
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact(Timeout = 120000)]
    public async Task Write_ReplacesLargeFile_NewBytes_OldFileReleased()
    {
        // A large file being replaced is held open across the rename and freed after the answer.
        var dir = NewDir();
        var path = Path.Combine(dir, "large.bin");
        var first = new byte[12 * 1024 * 1024];
        Random.Shared.NextBytes(first);
        await PutAsync(path, first);
        using (var source = new PatternStream(10L * 1024 * 1024 + 7))
        using (var content = new SizedContent(source, 10L * 1024 * 1024 + 7))
        {
            using var response = await Server.Http.PutAsync($"/v1/files?path={path}", content);
            await ServerProcess.Expect(response, HttpStatusCode.Created);
            byte[] onDisk;
            await using (var file = File.OpenRead(path))
            {
                onDisk = await SHA256.HashDataAsync(file);
            }
            Assert.Equal(Convert.ToHexString(source.Hash()), Convert.ToHexString(onDisk));
        }
        Assert.Equal(["large.bin"], Directory.GetFiles(dir).Select(Path.GetFileName));
        bool HoldsDeleted() => Directory.GetFiles($"/proc/{Server.Pid}/fd").Any(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget is { } t && t.StartsWith(path, StringComparison.Ordinal) && t.EndsWith("(deleted)", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        });
        await Until(() => !HoldsDeleted(), "the server to release the replaced file");
    }

    /// <summary>Polls a condition (a hang guard of 20 s, not a timing assertion).</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out waiting for " + what + ".");
            }
            await Task.Delay(20);
        }
    }

    [Fact(Timeout = 30000)]
    public async Task Edit_ViewCreateReplaceInsertUndo()
    {
        var dir = NewDir();
        var path = Path.Combine(dir, "src", "code.py");
        async Task<EditResponse> Edit(EditRequest r) => await Server.PostAsync("/v1/edit", r, ProtocolJsonContext.Default.EditRequest, ProtocolJsonContext.Default.EditResponse);

        var created = await Edit(new EditRequest { Command = "create", Path = path, FileText = "def f():\n    return 1\n\nprint(f())\n" });
        Assert.Contains("+def f():", created.Diff);
        await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "create", Path = path, FileText = "x" }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.Conflict, ErrorIds.PathExists);

        var view = await Edit(new EditRequest { Command = "view", Path = path });
        Assert.Equal("     1\tdef f():\n     2\t    return 1\n     3\t\n     4\tprint(f())\n", view.Output);
        var range = await Edit(new EditRequest { Command = "view", Path = path, ViewRange = [2, 3] });
        Assert.Equal("     2\t    return 1\n     3\t\n", range.Output);
        await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "view", Path = path, ViewRange = [9, 10] }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.BadRequest, ErrorIds.EditInvalidRange);

        var replaced = await Edit(new EditRequest { Command = "str_replace", Path = path, OldStr = "return 1", NewStr = "return 2" });
        Assert.Contains("-    return 1", replaced.Diff);
        Assert.Contains("+    return 2", replaced.Diff);
        Assert.StartsWith("--- a" + path, replaced.Diff);
        Assert.Equal("def f():\n    return 2\n\nprint(f())\n", File.ReadAllText(path));

        var noMatch = await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "str_replace", Path = path, OldStr = "return 3", NewStr = "x" }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.BadRequest, ErrorIds.EditNoMatch);
        Assert.Contains("exactly", noMatch.Detail);
        File.AppendAllText(path, "print(f())\n");
        var ambiguous = await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "str_replace", Path = path, OldStr = "print(f())", NewStr = "x" }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.BadRequest, ErrorIds.EditAmbiguous);
        Assert.Contains("2 times", ambiguous.Detail);

        var inserted = await Edit(new EditRequest { Command = "insert", Path = path, InsertLine = 1, NewStr = "    \"\"\"doc\"\"\"" });
        Assert.Contains("+    \"\"\"doc\"\"\"", inserted.Diff);
        Assert.Equal("def f():\n    \"\"\"doc\"\"\"\n    return 2\n\nprint(f())\nprint(f())\n", File.ReadAllText(path));
        await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "insert", Path = path, InsertLine = 99, NewStr = "x" }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.BadRequest, ErrorIds.EditInvalidRange);

        await Edit(new EditRequest { Command = "undo", Path = path });
        Assert.Equal("def f():\n    return 2\n\nprint(f())\nprint(f())\n", File.ReadAllText(path));
        await Edit(new EditRequest { Command = "undo", Path = path });
        Assert.Equal("def f():\n    return 1\n\nprint(f())\n", File.ReadAllText(path));
        await Edit(new EditRequest { Command = "undo", Path = path });
        Assert.False(File.Exists(path));
        await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "undo", Path = path }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.BadRequest, ErrorIds.EditNothingToUndo);
        await Server.PostProblemAsync("/v1/edit", ServerProcess.Json(new EditRequest { Command = "rewrite", Path = path }, ProtocolJsonContext.Default.EditRequest), HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
    }

    [Fact(Timeout = 30000)]
    public async Task Edit_ViewDirectory_Lists()
    {
        var dir = NewDir();
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "x.txt"), "x");
        File.WriteAllText(Path.Combine(dir, "y.txt"), "y");
        var view = await Server.PostAsync("/v1/edit", new EditRequest { Command = "view", Path = dir }, ProtocolJsonContext.Default.EditRequest, ProtocolJsonContext.Default.EditResponse);
        Assert.Equal($"{dir}/sub/\n{dir}/sub/x.txt\n{dir}/y.txt\n", view.Output);
    }
}

/// <summary>A deterministic, hashable stream of any length that never holds more than one buffer.</summary>
internal sealed class PatternStream(long length) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _position;

    public byte[] Hash() => _hash.GetHashAndReset();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = (int)Math.Min(count, length - _position);
        for (int i = 0; i < n; i++)
        {
            long p = _position + i;
            buffer[offset + i] = (byte)((p * 31) ^ (p >> 11));
        }
        _hash.AppendData(buffer, offset, n);
        _position += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A body with a Content-Length, copied from a stream in uneven writes (1 B to 300 KiB).</summary>
internal sealed class SizedContent(Stream source, long length) : HttpContent
{
    private static readonly int[] Sizes = [1, 4095, 65537, 300 * 1024, 7, 131072, 16384 + 3];

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        var buffer = new byte[Sizes.Max()];
        long left = length;
        for (int i = 0; left > 0; i++)
        {
            int n = source.Read(buffer, 0, (int)Math.Min(Sizes[i % Sizes.Length], left));
            if (n == 0)
            {
                throw new IOException("source ended early");
            }
            await stream.WriteAsync(buffer.AsMemory(0, n));
            left -= n;
        }
    }

    protected override bool TryComputeLength(out long value)
    {
        value = length;
        return true;
    }
}

public sealed class ProcFileTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact(Timeout = 30000)]
    public async Task ProcFile_ReportedSizeZero_StillReadWhole()
    {
        var text = await fixture.Server.Http.GetStringAsync($"/v1/files?path=/proc/{fixture.Server.Pid}/status");
        Assert.Contains("VmRSS:", text);
        var part = await fixture.Server.Http.GetStringAsync($"/v1/files?path=/proc/{fixture.Server.Pid}/status&offset=5&length=3");
        Assert.Equal(text.Substring(5, 3), part);
        var t = await fixture.Server.GetAsync($"/v1/files/text?path=/proc/{fixture.Server.Pid}/status", SandboxPS.Protocol.ProtocolJsonContext.Default.FileTextResponse);
        Assert.Contains("VmRSS:", t.Content);
    }
}
