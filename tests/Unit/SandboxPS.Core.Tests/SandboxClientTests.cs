using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

/// <summary>SandboxClient against the real server binary on loopback.</summary>
public sealed class SandboxClientTests : IClassFixture<RealServer>
{
    private readonly RealServer _server;

    public SandboxClientTests(RealServer server) => _server = server;

    [Fact(Timeout = 30_000)]
    public async Task Health_And_Info_Answer()
    {
        using var client = _server.NewClient();
        var health = await client.GetHealthAsync();
        Assert.Equal("ok", health.Status);
        Assert.Equal(ProtocolConstants.Version, health.ProtocolVersion);
        var info = await client.GetInfoAsync();
        Assert.Equal(_server.WorkDir, info.WorkDir);
        Assert.True(info.Pid > 0);
    }

    [Fact(Timeout = 30_000)]
    public async Task WrongToken_IsUnauthorized()
    {
        using var client = _server.NewClient("not-the-token");
        Assert.Equal("ok", (await client.GetHealthAsync()).Status);   // health needs no token
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.GetInfoAsync());
        Assert.Equal(SandboxErrorKind.Unauthorized, ex.Kind);
        Assert.Equal(ErrorIds.Unauthorized, ex.ErrorId);
    }

    [Fact(Timeout = 30_000)]
    public async Task Unreachable_Endpoint_IsProviderUnavailable()
    {
        // A port that was free a moment ago: connection refused.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new SandboxClient($"http://127.0.0.1:{port}", "t");
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.GetInfoAsync());
        Assert.Equal(SandboxErrorKind.ProviderUnavailable, ex.Kind);
        Assert.Equal(SandboxErrorIds.SandboxServerUnreachable, ex.ErrorId);
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public void BadEndpoint_IsInvalidArgument()
    {
        var ex = Assert.Throws<SandboxException>(() => new SandboxClient("ftp://x", "t"));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact(Timeout = 60_000)]
    public async Task Session_KeepsStateAcrossRuns_AndDeletes()
    {
        using var client = _server.NewClient();
        var id = "s-" + Guid.NewGuid().ToString("N")[..6];
        var session = await client.CreateSessionAsync(new CreateSessionRequest { Id = id, Kind = SessionKinds.Shell });
        Assert.Equal(id, session.Id);
        Assert.Contains(await client.ListSessionsAsync(), s => s.Id == id);

        var first = await client.RunAsync(id, new RunRequest { Command = "cd /tmp && export GREETING=hi" });
        Assert.Equal(0, first.ExitCode);
        var second = await client.RunAsync(id, new RunRequest { Command = "echo $GREETING; pwd" });
        Assert.Equal("hi\n/tmp", second.Output.Trim().Replace("\r\n", "\n"));
        Assert.Equal("/tmp", second.Cwd);

        var failing = await client.RunAsync(id, new RunRequest { Command = "exit_with() { return $1; }; exit_with 3" });
        Assert.Equal(3, failing.ExitCode);

        await client.DeleteSessionAsync(id);
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.DeleteSessionAsync(id));
        Assert.Equal(SandboxErrorKind.NotFound, ex.Kind);
        Assert.Equal(ErrorIds.SessionNotFound, ex.ErrorId);
    }

    [Fact(Timeout = 60_000)]
    public async Task RunStream_YieldsOutputThenExit()
    {
        using var client = _server.NewClient();
        var events = new List<StreamEvent>();
        await foreach (var evt in client.RunStreamAsync(null, new RunRequest { Command = "for i in 1 2 3; do echo line$i; done; false" }))
        {
            events.Add(evt);
        }
        Assert.Equal(StreamEventTypes.Exit, events[^1].Type);
        Assert.Equal(1, events[^1].Run!.ExitCode);
        var text = string.Concat(events.Where(e => e.Type == StreamEventTypes.Output).Select(e => e.Data));
        Assert.Contains("line1", text);
        Assert.Contains("line3", text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_Timeout_InterruptsAndReports()
    {
        using var client = _server.NewClient();
        var session = await client.CreateSessionAsync(new CreateSessionRequest());
        var result = await client.RunAsync(session.Id, new RunRequest { Command = "echo started; sleep 30", TimeoutSeconds = 0.5 });
        Assert.True(result.TimedOut);
        Assert.Contains("started", result.Output);
        var after = await client.RunAsync(session.Id, new RunRequest { Command = "echo still-usable" });
        Assert.Contains("still-usable", after.Output);
        await client.DeleteSessionAsync(session.Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task Cancellation_EndsACallAtOnce()
    {
        using var client = _server.NewClient();
        var session = await client.CreateSessionAsync(new CreateSessionRequest());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.RunAsync(session.Id, new RunRequest { Command = "sleep 20" }, cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "cancellation must not wait for the command");
        await client.InterruptAsync(session.Id).ContinueWith(_ => { });
        await client.DeleteSessionAsync(session.Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task Exec_SeparatesStdoutAndStderr_AndStreams()
    {
        using var client = _server.NewClient();
        var result = await client.ExecAsync(new ExecRequest { Argv = ["/bin/sh", "-c", "echo out; echo err >&2; exit 4"] });
        Assert.Equal(4, result.ExitCode);
        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("err\n", result.Stderr);

        var events = new List<StreamEvent>();
        await foreach (var evt in client.ExecStreamAsync(new ExecRequest { Shell = "echo a; echo b >&2", Stdin = null }))
        {
            events.Add(evt);
        }
        Assert.Contains(events, e => e.Type == StreamEventTypes.Stdout && e.Data!.Contains('a'));
        Assert.Contains(events, e => e.Type == StreamEventTypes.Stderr && e.Data!.Contains('b'));
        Assert.Equal(0, events[^1].Exec!.ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task WriteFile_SeekableFromItsPosition_NonSeekableChunked_BytesEqual()
    {
        using var client = _server.NewClient();
        var dir = Path.Combine(_server.WorkDir, "upload-" + Guid.NewGuid().ToString("N")[..6]);
        var bytes = RandomNumberGenerator.GetBytes(9 * 1024 * 1024 + 333);

        // Seekable: sent with a Content-Length, from the stream's current position to its end.
        var local = Path.Combine(_server.WorkDir, "local-" + Guid.NewGuid().ToString("N")[..6] + ".bin");
        await File.WriteAllBytesAsync(local, bytes);
        await using (var file = File.OpenRead(local))
        {
            file.Position = 1000;
            var written = await client.WriteFileAsync(dir + "/tail.bin", file);
            Assert.Equal(bytes.Length - 1000, written.Bytes);
            Assert.Equal(bytes.Length, file.Position);
        }
        Assert.Equal(SHA256.HashData(bytes.AsSpan(1000)), SHA256.HashData(await File.ReadAllBytesAsync(dir + "/tail.bin")));

        // Not seekable: sent chunked, read to its end.
        using (var pipe = new NonSeekable(new MemoryStream(bytes)))
        {
            var written = await client.WriteFileAsync(dir + "/whole.bin", pipe);
            Assert.Equal(bytes.Length, written.Bytes);
        }
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(dir + "/whole.bin")));
        Assert.Empty(Directory.GetFiles(dir, "*.sbx-tmp"));
        File.Delete(local);
    }

    [Fact(Timeout = 60_000)]
    public async Task WriteFile_StreamShorterThanItsLength_FailsAndWritesNothing()
    {
        using var client = _server.NewClient();
        var dir = Path.Combine(_server.WorkDir, "short-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        await using var lying = new ShortStream(new byte[1024 * 1024], claimedLength: 2 * 1024 * 1024);
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.WriteFileAsync(dir + "/x.bin", lying));
        Assert.Contains("short of its length", ex.ToString());
        for (var i = 0; i < 200 && Directory.EnumerateFileSystemEntries(dir).Any(); i++)
        {
            await Task.Delay(20);   // the server removes its temp file once it sees the body end early
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    /// <summary>A stream that cannot seek (a pipe, a network body).</summary>
    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A seekable stream that claims more bytes than it has (a file truncated while it is read).</summary>
    private sealed class ShortStream(byte[] data, long claimedLength) : MemoryStream(data)
    {
        public override long Length => claimedLength;
    }

    [Fact(Timeout = 60_000)]
    public async Task Files_WriteReadStatListDelete()
    {
        using var client = _server.NewClient();
        var dir = Path.Combine(_server.WorkDir, "files-" + Guid.NewGuid().ToString("N")[..6]);
        var bytes = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var written = await client.WriteFileAsync(dir + "/nested/blob.bin", new MemoryStream(bytes), mode: Convert.ToInt32("640", 8));
        Assert.Equal(bytes.Length, written.Bytes);

        await using (var stream = await client.OpenReadAsync(dir + "/nested/blob.bin"))
        {
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(bytes, copy.ToArray());
        }
        var stat = await client.StatAsync(dir + "/nested/blob.bin");
        Assert.Equal("file", stat.Type);
        Assert.Equal(bytes.Length, stat.Size);
        Assert.Equal(Convert.ToInt32("640", 8), stat.Mode & 0x1FF);

        await client.WriteFileAsync(dir + "/notes.txt", new MemoryStream(Encoding.UTF8.GetBytes("one\ntwo\nthree\n")));
        var text = await client.ReadTextAsync(dir + "/notes.txt", 2, 3);
        Assert.Equal(2, text.StartLine);
        Assert.Contains("two", text.Content);
        Assert.DoesNotContain("one", text.Content);

        var list = await client.ListFilesAsync(dir);
        Assert.Contains(list.Entries, e => e.Name == "nested" && e.Type == "directory");
        Assert.Contains(list.Entries, e => e.Name == "notes.txt");

        await client.DeleteFileAsync(dir, recursive: true);
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.StatAsync(dir));
        Assert.Equal(SandboxErrorKind.NotFound, ex.Kind);
        Assert.Equal(ErrorIds.PathNotFound, ex.ErrorId);
    }

    [Fact(Timeout = 60_000)]
    public async Task Edit_ReplacesExactlyOnce_ElseNamedErrors()
    {
        using var client = _server.NewClient();
        var path = Path.Combine(_server.WorkDir, "edit-" + Guid.NewGuid().ToString("N")[..6] + ".py");
        await client.WriteFileAsync(path, new MemoryStream(Encoding.UTF8.GetBytes("DEBUG = True\nx = 1\nx = 1\n")));
        var edit = await client.EditAsync(new EditRequest { Command = EditCommands.StrReplace, Path = path, OldStr = "DEBUG = True", NewStr = "DEBUG = False" });
        Assert.Contains("DEBUG = False", edit.Diff);
        Assert.Contains("DEBUG = False", (await client.ReadTextAsync(path)).Content);

        var none = await Assert.ThrowsAsync<SandboxException>(() =>
            client.EditAsync(new EditRequest { Command = EditCommands.StrReplace, Path = path, OldStr = "nothing like this", NewStr = "y" }));
        Assert.Equal(ErrorIds.EditNoMatch, none.ErrorId);
        Assert.Equal(SandboxErrorKind.InvalidArgument, none.Kind);
        var many = await Assert.ThrowsAsync<SandboxException>(() =>
            client.EditAsync(new EditRequest { Command = EditCommands.StrReplace, Path = path, OldStr = "x = 1", NewStr = "y" }));
        Assert.Equal(ErrorIds.EditAmbiguous, many.ErrorId);
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyDirectory_RoundTripsThroughTheSandbox()
    {
        using var client = _server.NewClient();
        var local = Path.Combine(_server.WorkDir, "..", "sbx-copy-" + Guid.NewGuid().ToString("N")[..6]);
        var src = Path.Combine(local, "proj");
        Directory.CreateDirectory(Path.Combine(src, "sub", "deeper"));
        File.WriteAllText(Path.Combine(src, "a.txt"), "alpha");
        File.WriteAllText(Path.Combine(src, "sub", "deeper", "b.txt"), "beta");
        File.WriteAllText(Path.Combine(src, "run.sh"), "#!/bin/sh\necho ran\n");
        File.SetUnixFileMode(Path.Combine(src, "run.sh"), (UnixFileMode)Convert.ToInt32("755", 8));
        try
        {
            var remote = "/tmp/sbx-copy-" + Guid.NewGuid().ToString("N")[..6];
            // remote does not exist: the directory becomes it
            await client.CopyToSandboxAsync(src, remote);
            var run = await client.ExecAsync(new ExecRequest { Shell = $"cat {remote}/sub/deeper/b.txt; {remote}/run.sh" });
            Assert.Equal("betaran\n", run.Stdout);

            // into an existing directory: lands under its own name
            await client.CopyToSandboxAsync(Path.Combine(src, "a.txt"), remote + "/sub");
            Assert.Equal("alpha", (await client.ReadTextAsync(remote + "/sub/a.txt")).Content);

            var back = Path.Combine(local, "back");
            await client.CopyFromSandboxAsync(remote, back);
            Assert.Equal("beta", File.ReadAllText(Path.Combine(back, "sub", "deeper", "b.txt")));
            Assert.Equal("alpha", File.ReadAllText(Path.Combine(back, "sub", "a.txt")));
            Assert.True(File.GetUnixFileMode(Path.Combine(back, "run.sh")).HasFlag(UnixFileMode.UserExecute));

            // into an existing local directory: lands under its own name
            await client.CopyFromSandboxAsync(remote + "/a.txt", local);
            Assert.Equal("alpha", File.ReadAllText(Path.Combine(local, "a.txt")));
            await client.DeleteFileAsync(remote, recursive: true);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyToSandbox_MissingLocalPath_IsNotFound()
    {
        using var client = _server.NewClient();
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.CopyToSandboxAsync("/nonexistent/really", "/tmp/x"));
        Assert.Equal(SandboxErrorIds.LocalPathNotFound, ex.ErrorId);
    }

    [Fact(Timeout = 60_000)]
    public async Task PythonSession_KeepsItsNamespace()
    {
        using var client = _server.NewClient();
        var session = await client.CreateSessionAsync(new CreateSessionRequest { Kind = SessionKinds.Python });
        Assert.Equal(SessionKinds.Python, session.Kind);
        await client.RunAsync(session.Id, new RunRequest { Command = "x = 41" });
        var result = await client.RunAsync(session.Id, new RunRequest { Command = "x + 1" });
        Assert.Equal("42", result.Output.Trim());
        await client.DeleteSessionAsync(session.Id);
    }
}

/// <summary>The unix-socket transport (ConnectCallback) against the real server.</summary>
public sealed class SandboxClientUnixSocketTests : IAsyncLifetime
{
    private readonly RealServer _server = new() { UnixSocket = Path.Combine(Path.GetTempPath(), "sbx-" + Guid.NewGuid().ToString("N")[..8] + ".sock") };

    public Task InitializeAsync() => _server.InitializeAsync();
    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact(Timeout = 30_000)]
    public async Task UnixEndpoint_Works()
    {
        Assert.StartsWith("unix:", _server.Endpoint);
        using var client = _server.NewClient();
        var result = await client.ExecAsync(new ExecRequest { Argv = ["echo", "over-a-socket"] });
        Assert.Equal("over-a-socket\n", result.Stdout);
    }
}
