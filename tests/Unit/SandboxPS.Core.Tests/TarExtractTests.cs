using SandboxPS.Core.Internal;

namespace SandboxPS.Core.Tests;

/// <summary>
/// The host-side extraction of a sandbox's archive, entry by entry: layouts, merges onto existing local trees,
/// conflicts that must refuse the copy with nothing changed, and the all-or-nothing commit.
/// </summary>
public sealed class TarExtractTests : IDisposable
{
    private readonly TempTree _tree = new();

    public void Dispose() => _tree.Dispose();

    private static MemoryStream Stream(TarBuilder tar) => new(tar.Bytes());

    private void AssertNoStagingLeft() =>
        Assert.Empty(Directory.EnumerateFileSystemEntries(_tree.Path, ArchiveExtractor.StagingPrefix + "*", SearchOption.AllDirectories));

    [Fact]
    public async Task Directory_IntoExistingDirectory_LandsUnderItsName()
    {
        var tar = new TarBuilder().File("a.txt", "A").Dir("sub").File("sub/b.txt", "B");
        var count = await TarCopy.ExtractAsync(Stream(tar), "/work/proj", true, _tree.Path, default);
        Assert.Equal(3, count);
        Assert.Equal("A", File.ReadAllText(_tree["proj/a.txt"]));
        Assert.Equal("B", File.ReadAllText(_tree["proj/sub/b.txt"]));
        AssertNoStagingLeft();
    }

    [Fact]
    public async Task Directory_WithAChildOfTheSameName_KeepsTheLayout()
    {
        // Issue 11 item 4: pkg/pkg/__init__.py must not be lifted to pkg/__init__.py.
        var tar = new TarBuilder().Dir("pkg").File("pkg/__init__.py", "inner").File("setup.py", "setup")
                                  .Dir("pkg/pkg").File("pkg/pkg/pkg", "deepest");
        await TarCopy.ExtractAsync(Stream(tar), "/src/pkg", true, _tree.Path, default);
        TreeSnapshot.AssertSame(new Dictionary<string, string>
        {
            ["pkg"] = "dir",
            ["pkg/pkg"] = "dir",
            ["pkg/pkg/__init__.py"] = "file",
            ["pkg/setup.py"] = "file",
            ["pkg/pkg/pkg"] = "dir",
            ["pkg/pkg/pkg/pkg"] = "file",
        }, TreeSnapshot.Take(_tree.Path, modes: false).ToDictionary(kv => kv.Key, kv => kv.Value.Split(' ')[0]), "layout");
        Assert.Equal("inner", File.ReadAllText(_tree["pkg/pkg/__init__.py"]));
    }

    [Fact]
    public async Task DirectoryHoldingOnlyAFileOfItsName_IsNotMistakenForThatFile()
    {
        await TarCopy.ExtractAsync(Stream(new TarBuilder().File("pkg", "x")), "/src/pkg", true, _tree["out"], default);
        Assert.Equal("x", File.ReadAllText(_tree["out/pkg"]));
    }

    [Fact]
    public async Task File_ToNewPath_BecomesThatPath_AndReplacesAnExistingFile()
    {
        var target = _tree["renamed.txt"];
        await TarCopy.ExtractAsync(Stream(new TarBuilder().File("out.log", "log")), "/tmp/out.log", false, target, default);
        Assert.Equal("log", File.ReadAllText(target));
        await TarCopy.ExtractAsync(Stream(new TarBuilder().File("out.log", "log2")), "/tmp/out.log", false, target, default);
        Assert.Equal("log2", File.ReadAllText(target));
        AssertNoStagingLeft();
    }

    [Fact]
    public async Task Merge_KeepsTheUsersOtherFiles_AndReplacesSameNamedFiles()
    {
        Directory.CreateDirectory(_tree["proj/sub"]);
        File.WriteAllText(_tree["proj/mine.txt"], "mine");
        File.WriteAllText(_tree["proj/sub/old.txt"], "old");
        File.WriteAllText(_tree["proj/a.txt"], "before");
        var tar = new TarBuilder().File("a.txt", "after").Dir("sub").File("sub/new.txt", "new");
        await TarCopy.ExtractAsync(Stream(tar), "/w/proj", true, _tree.Path, default);
        Assert.Equal("mine", File.ReadAllText(_tree["proj/mine.txt"]));
        Assert.Equal("old", File.ReadAllText(_tree["proj/sub/old.txt"]));
        Assert.Equal("after", File.ReadAllText(_tree["proj/a.txt"]));
        Assert.Equal("new", File.ReadAllText(_tree["proj/sub/new.txt"]));
    }

    [Fact]
    public async Task SandboxSymlink_OntoAnExistingLocalDirectory_IsRefused_AndNothingChanges()
    {
        // Issue 11 item 3: this used to delete proj/data recursively and put a link in its place (exit 0).
        Directory.CreateDirectory(_tree["proj/data"]);
        File.WriteAllText(_tree["proj/data/precious.csv"], "1,2,3");
        var before = TreeSnapshot.Take(_tree.Path);
        var tar = new TarBuilder().File("a.txt", "A").Symlink("data", "a.txt");
        var ex = await Assert.ThrowsAsync<SandboxException>(() => TarCopy.ExtractAsync(Stream(tar), "/w/proj", true, _tree.Path, default));
        Assert.Equal(SandboxErrorIds.LocalPathConflict, ex.ErrorId);
        Assert.Contains(_tree["proj/data"], ex.Message);
        Assert.Contains("never replaces or deletes a directory", ex.Message);
        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_tree.Path), "the local tree");   // a.txt not written either
        AssertNoStagingLeft();
    }

    [Fact]
    public async Task SandboxFile_OntoAnExistingLocalDirectory_IsRefused()
    {
        Directory.CreateDirectory(_tree["out/x/keep"]);
        var before = TreeSnapshot.Take(_tree.Path);
        var ex = await Assert.ThrowsAsync<SandboxException>(() =>
            TarCopy.ExtractAsync(Stream(new TarBuilder().File("x", "x")), "/w/x", false, _tree["out"], default));
        Assert.Equal(SandboxErrorIds.LocalPathConflict, ex.ErrorId);
        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_tree.Path), "the local tree");
    }

    [Fact]
    public async Task ExistingLocalLink_WhereTheSandboxHasADirectory_IsNeverWrittenThrough()
    {
        Directory.CreateDirectory(_tree["elsewhere"]);
        Directory.CreateDirectory(_tree["dest/proj"]);
        Directory.CreateSymbolicLink(_tree["dest/proj/sub"], _tree["elsewhere"]);
        var before = TreeSnapshot.Take(_tree.Path);
        var tar = new TarBuilder().Dir("sub").File("sub/x.txt", "x");
        var ex = await Assert.ThrowsAsync<SandboxException>(() => TarCopy.ExtractAsync(Stream(tar), "/w/proj", true, _tree["dest"], default));
        Assert.Equal(SandboxErrorIds.LocalPathConflict, ex.ErrorId);
        Assert.Contains("never writes through a link", ex.Message);
        Assert.False(File.Exists(_tree["elsewhere/x.txt"]));
        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_tree.Path), "the local tree");
    }

    [Fact]
    public async Task ExistingLocalLink_WhereTheSandboxHasAFile_IsReplacedAsALink_ItsTargetUntouched()
    {
        File.WriteAllText(_tree["target.txt"], "keep me");
        Directory.CreateDirectory(_tree["proj"]);
        File.CreateSymbolicLink(_tree["proj/a.txt"], _tree["target.txt"]);
        await TarCopy.ExtractAsync(Stream(new TarBuilder().File("a.txt", "from the sandbox")), "/w/proj", true, _tree.Path, default);
        Assert.Equal("keep me", File.ReadAllText(_tree["target.txt"]));
        Assert.Null(new FileInfo(_tree["proj/a.txt"]).LinkTarget);
        Assert.Equal("from the sandbox", File.ReadAllText(_tree["proj/a.txt"]));
    }

    [Fact]
    public async Task LinksThatStayInside_AreKeptAsLinks()
    {
        var tar = new TarBuilder().Dir("share").File("share/data.txt", "d").Dir("bin").Symlink("bin/data", "../share/data.txt")
                                  .Symlink("here", ".").Symlink("dangling-inside", "nothing-yet").Symlink("bin/up-one", "..");
        await TarCopy.ExtractAsync(Stream(tar), "/w/proj", true, _tree.Path, default);
        Assert.Equal("../share/data.txt", new FileInfo(_tree["proj/bin/data"]).LinkTarget);
        Assert.Equal("d", File.ReadAllText(_tree["proj/bin/data"]));
        Assert.Equal(".", new FileInfo(_tree["proj/here"]).LinkTarget);
        Assert.Equal("..", new FileInfo(_tree["proj/bin/up-one"]).LinkTarget);
    }

    [Fact]
    public async Task Modes_AreKept_WithoutSetuidSetgidOrSticky()
    {
        var tar = new TarBuilder().Dir("ro", 0x16d).File("ro/run.sh", "#!/bin/sh\n", 0x9ed).File("secret", "s", 0x180).Dir("sticky", 0x3ff);
        await TarCopy.ExtractAsync(Stream(tar), "/w/proj", true, _tree.Path, default);
        Assert.Equal((UnixFileMode)0x16d, File.GetUnixFileMode(_tree["proj/ro"]));       // r-xr-xr-x, set after its content landed
        Assert.Equal((UnixFileMode)0x1ed, File.GetUnixFileMode(_tree["proj/ro/run.sh"]));  // 4755 -> 0755
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(_tree["proj/secret"]));
        Assert.Equal((UnixFileMode)0x1ff, File.GetUnixFileMode(_tree["proj/sticky"]));     // 1777 -> 0777
    }

    [Fact]
    public async Task MergingIntoAnExistingDirectory_LeavesItsModeAlone()
    {
        Directory.CreateDirectory(_tree["proj"]);
        File.SetUnixFileMode(_tree["proj"], (UnixFileMode)0x1c0);
        await TarCopy.ExtractAsync(Stream(new TarBuilder().Dir("./", 0x1ff).File("a", "a")), "/w/proj", true, _tree.Path, default);
        Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(_tree["proj"]));
    }

    [Fact]
    public async Task AFailingCommitStep_UndoesEveryStepBeforeIt()
    {
        Directory.CreateDirectory(_tree["proj/sub"]);
        File.WriteAllText(_tree["proj/a.txt"], "before");
        File.WriteAllText(_tree["proj/sub/mine.txt"], "mine");
        var before = TreeSnapshot.Take(_tree.Path);
        var tar = new TarBuilder().File("a.txt", "after").File("b.txt", "new").Dir("sub").File("sub/z.txt", "z");
        ArchiveExtractor.CommitStepHook.Value = path =>
        {
            if (path.EndsWith("z.txt", StringComparison.Ordinal))
            {
                throw new IOException("injected failure");
            }
        };
        try
        {
            var ex = await Assert.ThrowsAsync<SandboxException>(() => TarCopy.ExtractAsync(Stream(tar), "/w/proj", true, _tree.Path, default));
            Assert.Contains("injected failure", ex.Message);
            Assert.Contains("Every step was undone", ex.Message);
        }
        finally
        {
            ArchiveExtractor.CommitStepHook.Value = null;
        }
        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_tree.Path), "the local tree");
        AssertNoStagingLeft();
    }

    [Fact]
    public async Task DestinationParents_AreMade_AndRemovedAgainWhenTheCopyFails()
    {
        await TarCopy.ExtractAsync(Stream(new TarBuilder().File("a", "a")), "/w/proj", true, _tree["new/deeper/proj"], default);
        Assert.Equal("a", File.ReadAllText(_tree["new/deeper/proj/a"]));
        await Assert.ThrowsAsync<SandboxException>(() =>
            TarCopy.ExtractAsync(Stream(new TarBuilder().File("../x", "a")), "/w/proj", true, _tree["other/deeper/proj"], default));
        Assert.False(Directory.Exists(_tree["other"]));
    }
}
