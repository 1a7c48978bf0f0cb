using System.Diagnostics;
using System.Formats.Tar;
using System.Net;
using System.Net.Http.Json;
using SandboxPS.Protocol;

namespace SandboxPS.Server.Tests;

/// <summary>FIFOs and devices through the file routes: a clear 400, never a hang or an endless stream.</summary>
public sealed class NonRegularFileTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    private string NewFifo(out string dir)
    {
        dir = Path.Combine(Server.WorkDir, "fifo-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(dir);
        var fifo = Path.Combine(dir, "pipe");
        using var mkfifo = Process.Start("mkfifo", [fifo]);
        Assert.True(mkfifo.WaitForExit(10000) && mkfifo.ExitCode == 0, "mkfifo failed");
        return fifo;
    }

    private async Task ExpectNotARegularFileAsync(string url)
    {
        // Hang guard: without the check the server blocks opening the FIFO until a writer comes.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await Server.Http.GetAsync(url, cts.Token);
        var problem = await ServerProcess.ProblemAsync(response, HttpStatusCode.BadRequest, ErrorIds.NotARegularFile);
        Assert.Contains("not a regular file", problem.Detail);
    }

    [Fact(Timeout = 30000)]
    public async Task Fifo_RawTextAndEdit_400NotARegularFile()
    {
        var fifo = NewFifo(out _);
        var q = Uri.EscapeDataString(fifo);
        await ExpectNotARegularFileAsync($"/v1/files?path={q}");
        await ExpectNotARegularFileAsync($"/v1/files?path={q}&length=10");
        await ExpectNotARegularFileAsync($"/v1/files/text?path={q}");
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        using (var edit = await Server.Http.PostAsJsonAsync("/v1/edit", new EditRequest { Command = "view", Path = fifo }, ProtocolJsonContext.Default.EditRequest, cts.Token))
        {
            await ServerProcess.ProblemAsync(edit, HttpStatusCode.BadRequest, ErrorIds.NotARegularFile);
        }
        var stat = await Server.GetAsync($"/v1/files/stat?path={q}", ProtocolJsonContext.Default.FileEntry);
        Assert.Equal("other", stat.Type);
    }

    [Fact(Timeout = 30000)]
    public async Task CharacterDevice_NeedsLength_ThenReadsExactlyThatMuch()
    {
        var problem = await Server.Http.GetAsync("/v1/files?path=/dev/zero");
        var p = await ServerProcess.ProblemAsync(problem, HttpStatusCode.BadRequest, ErrorIds.NotARegularFile);
        Assert.Contains("length=", p.Detail);
        await ExpectNotARegularFileAsync("/v1/files/text?path=/dev/urandom");
        var zeros = await Server.Http.GetByteArrayAsync("/v1/files?path=/dev/zero&length=100000");
        Assert.Equal(100000, zeros.Length);
        Assert.All(zeros, b => Assert.Equal(0, b));
        var random = await Server.Http.GetByteArrayAsync("/v1/files?path=/dev/urandom&length=32");
        Assert.Equal(32, random.Length);
        Assert.Empty(await Server.Http.GetByteArrayAsync("/v1/files?path=/dev/null&length=10"));
    }

    [Fact(Timeout = 30000)]
    public async Task Archive_OfDirectoryWithFifo_LeavesTheFifoOut()
    {
        NewFifo(out var dir);
        File.WriteAllText(Path.Combine(dir, "regular.txt"), "data");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await Server.Http.GetAsync($"/v1/archive?path={Uri.EscapeDataString(dir)}", cts.Token);
        await ServerProcess.Expect(response, HttpStatusCode.OK);
        using var reader = new TarReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var names = new List<string>();
        while (await reader.GetNextEntryAsync(cancellationToken: cts.Token) is { } entry)
        {
            names.Add(entry.Name);
        }
        Assert.Equal(["regular.txt"], names);
    }
}
