using System.Formats.Tar;
using SandboxPS.Core.Internal;

namespace SandboxPS.Core.Tests;

public sealed class TarExtractTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sbx-tar-" + Guid.NewGuid().ToString("N")[..8]);

    public TarExtractTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MemoryStream Tar(params (string Name, TarEntryType Type, string? Text, string? Link)[] entries)
    {
        var ms = new MemoryStream();
        using (var writer = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, type, text, link) in entries)
            {
                var entry = new PaxTarEntry(type, name);
                if (text is not null)
                {
                    entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
                }
                if (link is not null)
                {
                    entry.LinkName = link;
                }
                writer.WriteEntry(entry);
            }
        }
        ms.Position = 0;
        return ms;
    }

    [Fact]
    public async Task Extract_DirectoryIntoExistingDirectory_LandsUnderItsName()
    {
        var tar = Tar(("proj", TarEntryType.Directory, null, null), ("proj/a.txt", TarEntryType.RegularFile, "A", null),
                      ("proj/sub", TarEntryType.Directory, null, null), ("proj/sub/b.txt", TarEntryType.RegularFile, "B", null));
        var count = await TarCopy.ExtractAsync(tar, "/work/proj", _dir, default);
        Assert.Equal(4, count);
        Assert.Equal("A", File.ReadAllText(Path.Combine(_dir, "proj", "a.txt")));
        Assert.Equal("B", File.ReadAllText(Path.Combine(_dir, "proj", "sub", "b.txt")));
    }

    [Fact]
    public async Task Extract_FileToNewPath_BecomesThatPath()
    {
        var target = Path.Combine(_dir, "renamed.txt");
        await TarCopy.ExtractAsync(Tar(("out.log", TarEntryType.RegularFile, "log", null)), "/tmp/out.log", target, default);
        Assert.Equal("log", File.ReadAllText(target));
    }

    [Theory]
    [InlineData("proj/../../evil.txt")]
    [InlineData("/etc/evil.txt")]
    [InlineData("../evil.txt")]
    public async Task Extract_EntryEscapingTheDestination_IsRefused(string name)
    {
        var tar = Tar(("proj", TarEntryType.Directory, null, null), (name, TarEntryType.RegularFile, "x", null));
        var ex = await Assert.ThrowsAsync<SandboxException>(() => TarCopy.ExtractAsync(tar, "proj", _dir, default));
        Assert.Equal(SandboxErrorIds.InvalidArchive, ex.ErrorId);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_dir)!, "evil.txt")));
    }

    [Fact]
    public async Task Extract_WriteThroughASymlinkFromTheSameArchive_IsRefused()
    {
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        var dest = Path.Combine(_dir, "dest");
        var tar = Tar(("proj", TarEntryType.Directory, null, null), ("proj/link", TarEntryType.SymbolicLink, null, outside),
                      ("proj/link/pwned.txt", TarEntryType.RegularFile, "x", null));
        var ex = await Assert.ThrowsAsync<SandboxException>(() => TarCopy.ExtractAsync(tar, "proj", dest, default));
        Assert.Equal(SandboxErrorIds.InvalidArchive, ex.ErrorId);
        Assert.False(File.Exists(Path.Combine(outside, "pwned.txt")));
    }
}
