using System.Formats.Tar;
using System.Net;
using System.Net.Http.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

public sealed class ArchiveTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private string NewDir(string name)
    {
        var dir = Path.Combine(Server.WorkDir, name + "-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private async Task<byte[]> DownloadAsync(string path)
    {
        using var response = await Server.Http.GetAsync($"/v1/archive?path={Uri.EscapeDataString(path)}");
        await ServerProcess.Expect(response, HttpStatusCode.OK);
        Assert.Equal(ProtocolConstants.TarMediaType, response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private async Task<HttpResponseMessage> UploadAsync(string dir, byte[] tar)
    {
        var content = new ByteArrayContent(tar);
        content.Headers.ContentType = new(ProtocolConstants.TarMediaType);
        return await Server.Http.PutAsync($"/v1/archive?path={Uri.EscapeDataString(dir)}", content);
    }

    [Fact(Timeout = 30000)]
    public async Task Directory_RoundTrip_KeepsModesSymlinksAndEmptyDirs()
    {
        var src = NewDir("tar-src");
        File.WriteAllText(Path.Combine(src, "run.sh"), "#!/bin/sh\necho run\n");
        File.SetUnixFileMode(Path.Combine(src, "run.sh"), (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(src, "secret"), "s");
        File.SetUnixFileMode(Path.Combine(src, "secret"), (UnixFileMode)0b110_000_000);
        Directory.CreateDirectory(Path.Combine(src, "sub", "deeper"));
        File.SetUnixFileMode(Path.Combine(src, "sub"), (UnixFileMode)0b111_000_000);
        File.WriteAllBytes(Path.Combine(src, "sub", "deeper", "data.bin"), Enumerable.Range(0, 70000).Select(i => (byte)i).ToArray());
        Directory.CreateDirectory(Path.Combine(src, "empty"));
        File.CreateSymbolicLink(Path.Combine(src, "link-to-run"), "run.sh");
        File.CreateSymbolicLink(Path.Combine(src, "sub", "dangling"), "../nowhere");

        var tar = await DownloadAsync(src);
        var names = new List<string>();
        using (var reader = new TarReader(new MemoryStream(tar)))
        {
            while (reader.GetNextEntry() is { } e)
            {
                names.Add(e.Name);
            }
        }
        Assert.Contains("run.sh", names);
        Assert.Contains("sub/deeper/data.bin", names);
        Assert.Contains("empty/", names);
        Assert.DoesNotContain(names, n => n.StartsWith('/') || n.Contains(".."));

        var dst = NewDir("tar-dst");
        using var response = await UploadAsync(dst, tar);
        await ServerProcess.Expect(response, HttpStatusCode.Created);
        var written = await response.Content.ReadFromJsonAsync(ProtocolJsonContext.Default.WriteResponse);
        Assert.Equal(names.Count, written!.Entries);
        Assert.Equal(70000 + "#!/bin/sh\necho run\n".Length + 1, written.Bytes);

        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(dst, "run.sh")));
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(dst, "secret")));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(Path.Combine(dst, "sub")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "sub", "deeper", "data.bin")), File.ReadAllBytes(Path.Combine(dst, "sub", "deeper", "data.bin")));
        Assert.True(Directory.Exists(Path.Combine(dst, "empty")));
        Assert.Equal("run.sh", new FileInfo(Path.Combine(dst, "link-to-run")).LinkTarget);
        Assert.Equal("../nowhere", new FileInfo(Path.Combine(dst, "sub", "dangling")).LinkTarget);
        Assert.Equal("run\n", (await Server.ExecAsync(new ExecRequest { Argv = [Path.Combine(dst, "link-to-run")] })).Stdout);
    }

    [Fact(Timeout = 30000)]
    public async Task SingleFile_ArchiveHoldsItUnderItsName()
    {
        var src = NewDir("tar-file");
        File.WriteAllText(Path.Combine(src, "one.txt"), "1");
        var tar = await DownloadAsync(Path.Combine(src, "one.txt"));
        using var reader = new TarReader(new MemoryStream(tar));
        var entry = reader.GetNextEntry()!;
        Assert.Equal("one.txt", entry.Name);
        Assert.Null(reader.GetNextEntry());
        using var missing = await Server.Http.GetAsync("/v1/archive?path=/no/such/thing");
        await ServerProcess.ProblemAsync(missing, HttpStatusCode.NotFound, ErrorIds.PathNotFound);
    }

    private static byte[] Tar(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        using (var writer = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var e in entries)
            {
                writer.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    private static PaxTarEntry Entry(string name, string text) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };

    [Theory(Timeout = 30000)]
    [InlineData("../escaped.txt")]
    [InlineData("ok/../../escaped.txt")]
    [InlineData("/tmp/escaped-absolute.txt")]
    public async Task EntryEscapingTheTarget_400InvalidArchive(string name)
    {
        var outer = NewDir("tar-outer");
        var dst = Path.Combine(outer, "inner");
        using var response = await UploadAsync(dst, Tar(Entry(name, "evil")));
        await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.InvalidArchive);
        Assert.False(System.IO.File.Exists(Path.Combine(outer, "escaped.txt")));
        Assert.False(System.IO.File.Exists("/tmp/escaped-absolute.txt"));
    }

    [Fact(Timeout = 30000)]
    public async Task EntryThroughSymlink_400InvalidArchive_NothingWrittenOutside()
    {
        var outside = NewDir("tar-outside");
        var dst = NewDir("tar-symlink");
        var tar = Tar(
            new PaxTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = outside },
            Entry("link/planted.txt", "evil"));
        using var response = await UploadAsync(dst, tar);
        await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.InvalidArchive);
        Assert.False(System.IO.File.Exists(Path.Combine(outside, "planted.txt")));

        // Also when the symlink was already there before the upload.
        var dst2 = NewDir("tar-symlink2");
        System.IO.File.CreateSymbolicLink(Path.Combine(dst2, "pre"), outside);
        using var response2 = await UploadAsync(dst2, Tar(Entry("pre/planted2.txt", "evil")));
        await ServerProcess.ProblemAsync(response2, HttpStatusCode.BadRequest, ErrorIds.InvalidArchive);
        Assert.False(System.IO.File.Exists(Path.Combine(outside, "planted2.txt")));
    }

    [Fact(Timeout = 30000)]
    public async Task MalformedTar_400InvalidArchive()
    {
        var dst = NewDir("tar-garbage");
        var garbage = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 3)).ToArray();
        using var response = await UploadAsync(dst, garbage);
        await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.InvalidArchive);
        // Still serving.
        Assert.Equal(0, (await Server.ExecAsync(new ExecRequest { Argv = ["true"] })).ExitCode);
    }

    [Fact(Timeout = 30000)]
    public async Task UploadOntoAFile_400NotADirectory()
    {
        var dir = NewDir("tar-onto-file");
        var file = Path.Combine(dir, "f");
        System.IO.File.WriteAllText(file, "x");
        using var response = await UploadAsync(file, Tar(Entry("a", "a")));
        await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.NotADirectory);
    }
}
