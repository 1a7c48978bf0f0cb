using System.Formats.Tar;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>Raw HTTP/1.1 on loopback: bodies no HttpClient would send (bogus chunking, cut bodies).</summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> as is; returns the status code (0: closed without an answer) and the answer text.</summary>
    public static async Task<(int Status, string Text)> SendAsync(ServerProcess server, byte[] request, TimeSpan limit, bool closeWrite = false)
    {
        var uri = new Uri(server.Url);
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(limit);
        await client.ConnectAsync(IPAddress.Loopback, uri.Port, cts.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
            if (closeWrite)
            {
                client.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (IOException)
        {
            // The server answered and closed before taking everything: read what it said.
        }
        var answer = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                answer.Write(buffer, 0, n);
                if (HasWholeAnswer(answer))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no answer within {limit.TotalSeconds} s");
        }
        var text = Encoding.UTF8.GetString(answer.ToArray());
        int status = 0;
        if (text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12)
        {
            status = int.Parse(text.AsSpan(9, 3));
        }
        return (status, text);
    }

    private static bool HasWholeAnswer(MemoryStream answer)
    {
        var text = Encoding.UTF8.GetString(answer.GetBuffer(), 0, (int)answer.Length);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }
        var headers = text[..end];
        var cl = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (cl is null)
        {
            // Chunked (or no body): whole at the last chunk; otherwise read until the server closes.
            return headers.Contains(" 204 ") || text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        }
        return Encoding.UTF8.GetByteCount(text[(end + 4)..]) >= int.Parse(cl["Content-Length:".Length..].Trim());
    }

    public static byte[] Request(ServerProcess server, string method, string target, string headers, byte[] body)
    {
        var head = $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.Token}\r\n{headers}\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }
}

/// <summary>Issue 11 items 4 (server side), 5, 6 and 7: bad input is a 4xx with an error id, never a 500.</summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 30000)]
    public async Task NullsWhereValuesAreRequired_400_NamesTheField()
    {
        var p1 = await Server.PostProblemAsync("/v1/sessions/default/run", """{"command":null}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        Assert.Contains("command", p1.Detail);
        var p2 = await Server.PostProblemAsync("/v1/exec", """{"argv":["true"],"env":{"A":null}}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        Assert.Contains("'A'", p2.Detail);
        await Server.PostProblemAsync("/v1/sessions", """{"env":{"B":null}}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/edit", """{"command":null,"path":"x"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/edit", """{"command":"view","path":null}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/exec", """{"argv":["true"],"maxOutputBytes":2147483647}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
    }

    [Fact(Timeout = 30000)]
    public async Task WriteUnderAFile_400NotADirectory()
    {
        var file = Path.Combine(Server.WorkDir, "plain.txt");
        await File.WriteAllTextAsync(file, "x");
        using var content = new ByteArrayContent("y"u8.ToArray());
        using var response = await Server.Http.PutAsync($"/v1/files?path={Uri.EscapeDataString(file + "/x")}", content);
        var p = await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.NotADirectory);
        Assert.Contains(file, p.Detail);
        Assert.Equal("x", await File.ReadAllTextAsync(file));
    }

    [Theory(Timeout = 30000)]
    [InlineData("POST", "/v1/exec", "Content-Type: application/json\r\n")]
    [InlineData("PUT", "/v1/files?path=chunked.bin", "")]
    [InlineData("PUT", "/v1/archive?path=chunked-dir", "")]
    public async Task BogusChunkSize_400(string method, string target, string headers)
    {
        var raw = RawHttp.Request(Server, method, target, headers + "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n"u8.ToArray());
        var (status, text) = await RawHttp.SendAsync(Server, raw, Limit);
        Assert.True(status == 400, text);
        Assert.Contains(ErrorIds.InvalidRequest, text);
        Assert.False(File.Exists(Path.Combine(Server.WorkDir, "chunked.bin")));
    }

    [Fact(Timeout = 30000)]
    public async Task ArchiveCutShort_400InvalidArchive_NothingUnderItsFinalName()
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "whole.txt") { DataStream = new MemoryStream("complete"u8.ToArray()) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "big.bin") { DataStream = new MemoryStream(new byte[300_000]) });
        }
        var cut = tar.ToArray()[..100_000];
        var dir = Path.Combine(Server.WorkDir, "cut-archive");
        // A tar that ends inside an entry (the HTTP body itself is whole).
        using (var content = new ByteArrayContent(cut))
        using (var response = await Server.Http.PutAsync($"/v1/archive?path={Uri.EscapeDataString(dir)}", content))
        {
            var p = await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.InvalidArchive);
            Assert.Contains("big.bin", p.Detail);
        }
        Assert.Equal("complete", await File.ReadAllTextAsync(Path.Combine(dir, "whole.txt")));
        Assert.Equal("whole.txt", Path.GetFileName(Assert.Single(Directory.GetFileSystemEntries(dir))));
        // An HTTP body shorter than its Content-Length (the client went away mid-upload).
        var dir2 = Path.Combine(Server.WorkDir, "cut-body");
        var raw = RawHttp.Request(Server, "PUT", $"/v1/archive?path={Uri.EscapeDataString(dir2)}", $"Content-Length: {tar.Length}\r\n", cut);
        var (cutStatus, cutText) = await RawHttp.SendAsync(Server, raw, Limit, closeWrite: true);
        Assert.True(cutStatus is 0 or 400, cutText);
        for (int i = 0; i < 100 && Directory.Exists(dir2) && Directory.GetFileSystemEntries(dir2).Any(e => e.EndsWith(".sbx-tmp", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(50);
        }
        if (Directory.Exists(dir2))
        {
            Assert.DoesNotContain("big.bin", Directory.GetFileSystemEntries(dir2).Select(Path.GetFileName));
            Assert.DoesNotContain(Directory.GetFileSystemEntries(dir2), e => e.EndsWith(".sbx-tmp", StringComparison.Ordinal));
        }
        // The server still answers.
        Assert.Equal("ok\n", (await Server.ExecAsync(new ExecRequest { Argv = ["echo", "ok"] })).Stdout);
    }

    [Fact(Timeout = 60000)]
    public async Task JsonBodyOverTheLimit_413RequestTooLarge_SaysHowToStream_AndStdinPathStreams()
    {
        var big = new string('a', 17 * 1024 * 1024);
        var json = ServerProcess.Json(new ExecRequest { Argv = ["wc", "-c"], Stdin = big }, ProtocolJsonContext.Default.ExecRequest);
        var p = await Server.PostProblemAsync("/v1/exec", json, HttpStatusCode.RequestEntityTooLarge, ErrorIds.RequestTooLarge);
        Assert.Contains("stdinPath", p.Detail);
        Assert.Contains("PUT /v1/files", p.Detail);
        // The same without Content-Length (chunked): 413 too.
        using (var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json))))
        {
            chunked.Headers.ContentType = new("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/exec") { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            using var response = await Server.Http.SendAsync(request);
            await ServerProcess.ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, ErrorIds.RequestTooLarge);
        }
        // The way it says: upload, then stdinPath.
        var file = Path.Combine(Server.WorkDir, "stdin.bin");
        using (var content = new ByteArrayContent(Encoding.ASCII.GetBytes(big)))
        using (var put = await Server.Http.PutAsync($"/v1/files?path={Uri.EscapeDataString(file)}", content))
        {
            await ServerProcess.Expect(put, HttpStatusCode.Created);
        }
        var r = await Server.ExecAsync(new ExecRequest { Argv = ["wc", "-c"], StdinPath = file });
        Assert.Equal($"{big.Length}\n", r.Stdout);
        await Server.PostProblemAsync("/v1/exec", $$"""{"argv":["cat"],"stdin":"x","stdinPath":"{{file}}"}""", HttpStatusCode.BadRequest, ErrorIds.InvalidRequest);
        await Server.PostProblemAsync("/v1/exec", """{"argv":["cat"],"stdinPath":"/no/such/file"}""", HttpStatusCode.NotFound, ErrorIds.PathNotFound);
        await Server.PostProblemAsync("/v1/exec", """{"argv":["cat"],"stdinPath":"/"}""", HttpStatusCode.BadRequest, ErrorIds.NotARegularFile);
    }

    [Fact(Timeout = 30000)]
    public async Task RequestIdReused_DifferentBody_422_SameBodyReplays()
    {
        var id = "reuse-" + Guid.NewGuid().ToString("N");
        async Task<HttpResponseMessage> Post(string json, string? requestId = null, string path = "/v1/sessions/default/run")
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Add(ProtocolConstants.RequestIdHeader, requestId ?? id);
            return await Server.Http.SendAsync(request);
        }
        var marker = Path.Combine(Server.WorkDir, "ran-" + id);
        using (var first = await Post($$"""{"command":"echo once >> {{marker}}; echo first"}"""))
        {
            await ServerProcess.Expect(first, HttpStatusCode.OK);
        }
        using (var again = await Post($$"""{"command":"echo once >> {{marker}}; echo first"}"""))
        {
            await ServerProcess.Expect(again, HttpStatusCode.OK);
            Assert.True(again.Headers.Contains("X-Replayed"));
            Assert.Contains("first", await again.Content.ReadAsStringAsync());
        }
        using (var other = await Post("""{"command":"echo second"}"""))
        {
            var p = await ServerProcess.ProblemAsync(other, (HttpStatusCode)422, ErrorIds.RequestIdReused);
            Assert.Contains("different body", p.Detail);
        }
        using (var otherRoute = await Post("""{"argv":["true"]}""", path: "/v1/exec"))
        {
            await ServerProcess.ProblemAsync(otherRoute, (HttpStatusCode)422, ErrorIds.RequestIdReused);
        }
        Assert.Equal("once\n", await File.ReadAllTextAsync(marker));
    }
}

/// <summary>Issue 11 item 5: large requests do not leave the server at its peak memory.</summary>
public sealed class LargeRequestMemoryTests
{
    [Fact(Timeout = 120000)]
    public async Task LargeExecInputs_MemoryReturnsNearIdle()
    {
        await using var server = await ServerProcess.StartAsync();
        Assert.Equal("ok\n", (await server.ExecAsync(new ExecRequest { Argv = ["echo", "ok"] })).Stdout);
        await Task.Delay(300);
        long idle = server.RssKb();
        var big = new string('b', 15 * 1024 * 1024);
        for (int i = 0; i < 8; i++)
        {
            var r = await server.ExecAsync(new ExecRequest { Argv = ["wc", "-c"], Stdin = big });
            Assert.Equal($"{big.Length}\n", r.Stdout);
        }
        var tooBig = ServerProcess.Json(new ExecRequest { Argv = ["wc", "-c"], Stdin = big + big + big }, ProtocolJsonContext.Default.ExecRequest);
        for (int i = 0; i < 3; i++)
        {
            await server.PostProblemAsync("/v1/exec", tooBig, HttpStatusCode.RequestEntityTooLarge, ErrorIds.RequestTooLarge);
        }
        // Bounded wait for the collection that follows large requests.
        long after = 0;
        for (int i = 0; i < 50; i++)
        {
            await Task.Delay(100);
            after = server.RssKb();
            if (after < idle + 30 * 1024)
            {
                break;
            }
        }
        Assert.True(after < idle + 30 * 1024, $"RSS idle {idle} KiB, after 8 × 15 MiB requests and 3 refused 45 MiB ones {after} KiB (expected back within 30 MiB of idle)");
    }
}
