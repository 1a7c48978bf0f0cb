using System.Formats.Tar;
using SandboxPS.Core.Internal;

namespace SandboxPS.Core.Tests;

/// <summary>
/// Issue 11 item 2: everything a sandbox sends is hostile. A loopback server answers the archive route with
/// crafted tars; every one must be refused with an error naming the entry, and nothing may change anywhere:
/// not outside the destination, not the user's files inside it, and no half-written or staging file left.
/// </summary>
public sealed class HostileArchiveTests : IAsyncLifetime
{
    private readonly TempTree _world = new();
    private readonly HostileServer _server = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public HostileArchiveTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_world["home/.ssh"]);
        File.WriteAllText(_world["home/.ssh/authorized_keys"], "precious keys");
        File.WriteAllText(_world["home/secret.txt"], "precious");
        Directory.CreateDirectory(_world["dest/proj/data"]);
        File.WriteAllText(_world["dest/proj/mine.txt"], "the user's");
        File.WriteAllText(_world["dest/proj/data/rows.csv"], "1,2,3");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _world.Dispose();
    }

    private string Home => _world["home"];

    public static TheoryData<string, string> Cases() => new()
    {
        { "symlink-out-then-file-through-it", "evil" },
        { "absolute-symlink-then-file-through-it", "evil" },
        { "inside-symlink-then-file-through-it", "inner/pwned.txt" },
        { "symlink-climbing-out", "up" },
        { "symlink-dotdot-after-a-name", "sneaky" },
        { "hardlink-to-symlink", "hard" },
        { "hardlink-outside", "hard" },
        { "hardlink-absolute", "hard" },
        { "hardlink-to-nothing", "hard" },
        { "absolute-name", "pwned.txt" },
        { "dotdot-name", "../../home/pwned.txt" },
        { "dotdot-in-the-middle", "a/../../pwned.txt" },
        { "character-device", "tty" },
        { "block-device", "disk" },
        { "fifo", "pipe" },
        { "duplicate-file-then-dir", "twice" },
        { "file-then-child-of-it", "file/child" },
        { "huge-size", "big.bin" },
        { "size-beyond-the-data", "" },
        { "truncated-in-a-file", "" },
        { "truncated-in-a-header", "" },
        { "not-a-tar", "" },
        { "connection-reset-mid-archive", "" },
        { "stat-says-file-but-archive-is-a-tree", "" },
        { "stat-says-file-but-sends-a-directory", "proj" },
        { "single-symlink-escaping", "proj" },
        { "single-hardlink", "proj" },
    };

    private byte[] Craft(string name)
    {
        var good = new TarBuilder().File("a.txt", "A").Dir("sub").File("sub/b.txt", new string('b', 5000));
        return name switch
        {
            "symlink-out-then-file-through-it" => good.Symlink("evil", "../../home").File("evil/pwned.txt", "x").Bytes(),
            "absolute-symlink-then-file-through-it" => good.Symlink("evil", Home).File("evil/pwned.txt", "x").Bytes(),
            "inside-symlink-then-file-through-it" => good.Symlink("inner", "sub").File("inner/pwned.txt", "x").Bytes(),
            "symlink-climbing-out" => good.Symlink("up", "..").Bytes(),
            "symlink-dotdot-after-a-name" => good.Symlink("sub/l", "..").Symlink("sneaky", "sub/l/../..").Bytes(),
            "hardlink-to-symlink" => good.Symlink("l", "a.txt").HardLink("hard", "l").Bytes(),
            "hardlink-outside" => good.HardLink("hard", "../../home/secret.txt").Bytes(),
            "hardlink-absolute" => good.HardLink("hard", _world["home/secret.txt"]).Bytes(),
            "hardlink-to-nothing" => good.HardLink("hard", "missing.txt").Bytes(),
            "absolute-name" => good.File(_world["home/pwned.txt"], "x").Bytes(),
            "dotdot-name" => good.File("../../home/pwned.txt", "x").Bytes(),
            "dotdot-in-the-middle" => good.Dir("a").File("a/../../pwned.txt", "x").Bytes(),
            "character-device" => good.Add(new PaxTarEntry(TarEntryType.CharacterDevice, "tty") { DeviceMajor = 5, DeviceMinor = 0 }).Bytes(),
            "block-device" => good.Add(new PaxTarEntry(TarEntryType.BlockDevice, "disk") { DeviceMajor = 8, DeviceMinor = 0 }).Bytes(),
            "fifo" => good.Entry(TarEntryType.Fifo, "pipe").Bytes(),
            "duplicate-file-then-dir" => good.File("twice", "1").Dir("twice").Bytes(),
            "file-then-child-of-it" => good.File("file", "1").File("file/child", "2").Bytes(),
            "huge-size" => good.Announcing("big.bin", 1L << 60, 0).Bytes(),
            "size-beyond-the-data" => good.Announcing("trunc.bin", 10_000_000, 4096).Bytes(end: false),
            "truncated-in-a-file" => good.Bytes()[..7120],
            "truncated-in-a-header" => good.Bytes()[..(good.Bytes().Length - 1024 - 5000 - 700)],
            "not-a-tar" => System.Text.Encoding.ASCII.GetBytes(new string('x', 3000)),
            "connection-reset-mid-archive" => good.Bytes(),
            "stat-says-file-but-archive-is-a-tree" => good.Bytes(),
            "stat-says-file-but-sends-a-directory" => new TarBuilder().Dir("proj").Bytes(),
            "single-symlink-escaping" => new TarBuilder().Symlink("proj", "../home").Bytes(),
            "single-hardlink" => new TarBuilder().HardLink("proj", "a").Bytes(),
            _ => throw new ArgumentException(name),
        };
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public async Task HostileArchive_IsRefused_NothingChangesAnywhere(string name, string entry)
    {
        _server.Archive = Craft(name);
        _server.ItemType = name switch
        {
            "stat-says-file-but-archive-is-a-tree" or "stat-says-file-but-sends-a-directory" => "file",
            "single-symlink-escaping" or "single-hardlink" => "symlink",
            _ => "directory",
        };
        _server.ResetAfter = name == "connection-reset-mid-archive" ? 3000 : null;
        var before = TreeSnapshot.Take(_world.Path, mtimes: true);
        using var client = _server.NewClient();

        // Into the existing directory (a merge), and to a new path: both refused, nothing written.
        foreach (var destination in new[] { _world["dest"], _world["dest/fresh"] })
        {
            var ex = await Assert.ThrowsAsync<SandboxException>(() => client.CopyFromSandboxAsync("/w/proj", destination));
            Assert.True(ex.ErrorId is SandboxErrorIds.InvalidArchive or SandboxErrorIds.InsufficientLocalSpace, $"{name}: {ex.ErrorId}: {ex.Message}");
            Assert.Contains(entry, ex.Message);
            Assert.Contains("Nothing was changed", ex.Message);
            Assert.DoesNotContain("   at ", ex.Message);
            _output.WriteLine($"{name}: {ex.ErrorId}: {ex.Message}");
            TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_world.Path, mtimes: true), $"{name} into {destination}");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task TheSameServer_WithAnHonestArchive_Copies()
    {
        // The control for the theory above: the harness itself lets a good archive through.
        _server.Archive = new TarBuilder().File("a.txt", "A").Dir("sub").File("sub/b.txt", "B").Symlink("sub/a", "../a.txt").Bytes();
        using var client = _server.NewClient();
        await client.CopyFromSandboxAsync("/w/proj", _world["dest"]);
        Assert.Equal("A", File.ReadAllText(_world["dest/proj/a.txt"]));
        Assert.Equal("A", File.ReadAllText(_world["dest/proj/sub/a"]));
        Assert.Equal("the user's", File.ReadAllText(_world["dest/proj/mine.txt"]));
    }

    [Fact(Timeout = 60_000)]
    public async Task AServerDroppingTheUpload_FailsTheCopy_AndLeavesTheSourceAlone()
    {
        Directory.CreateDirectory(_world["src/big"]);
        File.WriteAllBytes(_world["src/big/blob.bin"], new byte[4 << 20]);
        var before = TreeSnapshot.Take(_world.Path, mtimes: true);
        using var client = _server.NewClient();
        var ex = await Assert.ThrowsAsync<SandboxException>(() => client.CopyToSandboxAsync(_world["src/big"], "/w/big"));
        Assert.Equal(SandboxErrorIds.SandboxServerUnreachable, ex.ErrorId);
        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_world.Path, mtimes: true), "the local tree");
    }
}
