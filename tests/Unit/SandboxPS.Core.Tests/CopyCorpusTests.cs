using SandboxPS.Protocol;

namespace SandboxPS.Core.Tests;

/// <summary>One process sandbox (the real server binary) shared by the copy corpus tests.</summary>
public sealed class CopySandbox : IAsyncLifetime
{
    private readonly TempStateDir _state = new();

    public SandboxClient Client { get; private set; } = null!;

    /// <summary>The sandbox's working directory, seen from the host (a process sandbox runs on this machine).</summary>
    public string WorkDir { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await _state.InitializeAsync();
        var manager = _state.NewManager();
        var sandbox = await manager.CreateAsync("process", new SandboxSpec { Name = "copy-corpus" }, Guard.Minutes(1));
        sandbox = await manager.WaitReadyAsync(sandbox, TimeSpan.FromSeconds(30), Guard.Minutes(1));
        Client = manager.GetClient(sandbox);
        WorkDir = Path.Combine(_state.Path, "process", sandbox.Id, "work");
    }

    public Task DisposeAsync() => _state.DisposeAsync();

    public async Task<string> ShAsync(string script)
    {
        var result = await Client.ExecAsync(new ExecRequest { Shell = script, TimeoutSeconds = 60 });
        Assert.True(result.ExitCode == 0, $"{script}\n{result.Stdout}{result.Stderr}");
        return result.Stdout;
    }
}

/// <summary>
/// Issue 11 items 2-4 with the real server: a layout corpus copied both ways and compared item by item with
/// the source (type, content, mode, mtime, link target), and the sandbox changed between two copies.
/// </summary>
public sealed class CopyCorpusTests : IClassFixture<CopySandbox>, IDisposable
{
    private readonly CopySandbox _box;
    private readonly TempTree _host = new();

    public CopyCorpusTests(CopySandbox box) => _box = box;

    public void Dispose() => _host.Dispose();

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..6];

    /// <summary>Nested same names, links inside the tree, unicode, names and paths past the old 100-byte limits, empty dirs and files, modes, a large file.</summary>
    private static void MakeCorpus(string root)
    {
        void Write(string relative, byte[] data, int mode = 0x1a4)
        {
            var path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, data);
            File.SetUnixFileMode(path, (UnixFileMode)mode);
            File.SetLastWriteTimeUtc(path, new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        }
        byte[] Text(string s) => System.Text.Encoding.UTF8.GetBytes(s);
        Directory.CreateDirectory(root);
        Write("pkg/__init__.py", Text("top\n"));
        Write("pkg/pkg/__init__.py", Text("inner\n"));
        Write("pkg/pkg/pkg/pkg", Text("deepest\n"));
        Write("pkg/setup.py", Text("setup\n"), 0x1ed);
        Write("unicodé/日本語.txt", Text("こんにちは\n"));
        Write("emoji-😀 with spaces.txt", Text("smile\n"));
        Write(".hidden/.dot", Text("dot\n"));
        Write("-leading-dash", Text("dash\n"));
        Write(new string('l', 150) + ".txt", Text("long name\n"));
        Write(string.Join('/', Enumerable.Range(0, 4).Select(i => new string((char)('a' + i), 90))) + "/deep.txt", Text("long path\n"));
        Write("empty-file", []);
        Write("modes/private", Text("600\n"), 0x180);
        Write("modes/readonly", Text("444\n"), 0x124);
        Write("modes/run.sh", Text("#!/bin/sh\necho ran\n"), 0x1ed);
        Write("modes/ro-dir/inside.txt", Text("in a read-only dir\n"));
        var big = new byte[24 << 20];
        new Random(11).NextBytes(big);
        Write("large/blob.bin", big);
        Directory.CreateDirectory(Path.Combine(root, "empty/nested-empty"));
        Directory.CreateDirectory(Path.Combine(root, "links"));
        File.CreateSymbolicLink(Path.Combine(root, "links/to-file"), "../pkg/__init__.py");
        File.CreateSymbolicLink(Path.Combine(root, "links/to-dir"), "../pkg");
        File.CreateSymbolicLink(Path.Combine(root, "links/dangling"), "not-there");
        File.CreateSymbolicLink(Path.Combine(root, "links/self"), ".");
        File.CreateSymbolicLink(Path.Combine(root, "links/" + new string('t', 120)), new string('x', 130));
        File.SetUnixFileMode(Path.Combine(root, "modes/ro-dir"), (UnixFileMode)0x16d);
        File.SetUnixFileMode(Path.Combine(root, "empty"), (UnixFileMode)0x1c0);
    }

    [Fact(Timeout = 180_000)]
    public async Task Corpus_RoundTrips_ItemByItem_BothWays()
    {
        var source = _host["corpus"];
        MakeCorpus(source);
        var expected = TreeSnapshot.Take(source, mtimes: true);
        var remote = Unique("corpus");

        // host -> sandbox (a new path: the directory becomes it); the process sandbox's disk is readable here
        var up = await _box.Client.CopyToSandboxAsync(source, remote);
        Assert.True(up.Entries >= expected.Count, $"{up.Entries} entries for {expected.Count} items");
        TreeSnapshot.AssertSame(expected, TreeSnapshot.Take(Path.Combine(_box.WorkDir, remote), mtimes: true), "host -> sandbox");

        // sandbox -> host, into an existing directory (lands under its name) and to a new path
        Directory.CreateDirectory(_host["back"]);
        await _box.Client.CopyFromSandboxAsync(remote, _host["back"]);
        TreeSnapshot.AssertSame(expected, TreeSnapshot.Take(_host["back/" + remote], mtimes: true), "sandbox -> host (into a directory)");
        await _box.Client.CopyFromSandboxAsync(remote, _host["renamed"]);
        TreeSnapshot.AssertSame(expected, TreeSnapshot.Take(_host["renamed"], mtimes: true), "sandbox -> host (new path)");

        // a second copy onto the first is a merge that changes nothing
        await _box.Client.CopyFromSandboxAsync(remote, _host["back"]);
        TreeSnapshot.AssertSame(expected, TreeSnapshot.Take(_host["back/" + remote], mtimes: true), "sandbox -> host (again, onto itself)");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_host.Path, ".sandboxps-cp-*", SearchOption.AllDirectories));
    }

    [Fact(Timeout = 120_000)]
    public async Task SingleItems_RoundTrip_FileEmptyFileAndLink()
    {
        var dir = Unique("single");
        await _box.ShAsync($"mkdir {dir} && printf 'x' > {dir}/f && : > {dir}/empty && ln -s f {dir}/l && chmod 640 {dir}/f");
        await _box.Client.CopyFromSandboxAsync(dir + "/f", _host["f.out"]);
        Assert.Equal("x", File.ReadAllText(_host["f.out"]));
        Assert.Equal((UnixFileMode)0x1a0, File.GetUnixFileMode(_host["f.out"]));
        await _box.Client.CopyFromSandboxAsync(dir + "/empty", _host.Path);
        Assert.Equal(0, new FileInfo(_host["empty"]).Length);
        await _box.Client.CopyFromSandboxAsync(dir + "/l", _host.Path);
        Assert.Equal("f", new FileInfo(_host["l"]).LinkTarget);

        // a link named as the source of an upload is followed; a link inside the tree is sent as a link
        File.WriteAllText(_host["real.txt"], "real");
        File.CreateSymbolicLink(_host["named-link"], _host["real.txt"]);
        await _box.Client.CopyToSandboxAsync(_host["named-link"], dir + "/up.txt");
        Assert.Null(new FileInfo(Path.Combine(_box.WorkDir, dir, "up.txt")).LinkTarget);
        Assert.Equal("real", File.ReadAllText(Path.Combine(_box.WorkDir, dir, "up.txt")));
    }

    [Fact(Timeout = 120_000)]
    public async Task HostLinksOutOfTheTree_AreSentAsLinks_NotFollowed_AndRefusedOnTheWayBack()
    {
        File.WriteAllText(_host["secret.txt"], "host secret");
        Directory.CreateDirectory(_host["src"]);
        File.WriteAllText(_host["src/a.txt"], "a");
        File.CreateSymbolicLink(_host["src/escape"], _host["secret.txt"]);
        Directory.CreateSymbolicLink(_host["src/escape-dir"], _host.Path);
        var remote = Unique("links");
        await _box.Client.CopyToSandboxAsync(_host["src"], remote);
        var inBox = Path.Combine(_box.WorkDir, remote);
        Assert.Equal(_host["secret.txt"], new FileInfo(Path.Combine(inBox, "escape")).LinkTarget);
        Assert.Equal(_host.Path, new FileInfo(Path.Combine(inBox, "escape-dir")).LinkTarget);
        Assert.Equal(["a.txt", "escape", "escape-dir"], Directory.EnumerateFileSystemEntries(inBox).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray());

        var ex = await Assert.ThrowsAsync<SandboxException>(() => _box.Client.CopyFromSandboxAsync(remote, _host["back"]));
        Assert.Equal(SandboxErrorIds.InvalidArchive, ex.ErrorId);
        Assert.Contains("'escape", ex.Message);
        Assert.False(Directory.Exists(_host["back"]));
    }

    [Fact(Timeout = 120_000)]
    public async Task Item2_SandboxChangedBetweenTwoCopies_NeverWritesOutsideTheDestination()
    {
        // The victim: a host directory the user never names in a copy.
        Directory.CreateDirectory(_host["victim"]);
        File.WriteAllText(_host["victim/keep.txt"], "keep");
        Directory.CreateDirectory(_host["dst"]);
        var before = TreeSnapshot.Take(_host["victim"], mtimes: true);
        var name = Unique("out");

        // 1. the source itself is a link to the victim (absolute, then relative climbing out): refused
        await _box.ShAsync($"ln -s {_host["victim"]} {name}");
        var first = await Assert.ThrowsAsync<SandboxException>(() => _box.Client.CopyFromSandboxAsync(name, _host["dst/local"]));
        Assert.Equal(SandboxErrorIds.InvalidArchive, first.ErrorId);
        Assert.Equal(HostFileSystemKind.Missing, Kind(_host["dst/local"]));
        await _box.ShAsync($"rm {name} && ln -s ../victim {name}");
        await Assert.ThrowsAsync<SandboxException>(() => _box.Client.CopyFromSandboxAsync(name, _host["dst/local"]));
        Assert.Equal(HostFileSystemKind.Missing, Kind(_host["dst/local"]));

        // 2. the sandbox makes it a directory; the same copy now writes inside the destination only
        await _box.ShAsync($"rm {name} && mkdir {name} && echo pwned > {name}/pwned.txt");
        await _box.Client.CopyFromSandboxAsync(name, _host["dst/local"]);
        Assert.Equal("pwned\n", File.ReadAllText(_host["dst/local/pwned.txt"]));

        // 3. a child link to the victim, then a directory in its place with a file in it
        var proj = Unique("proj");
        await _box.ShAsync($"mkdir {proj} && ln -s {_host["victim"]} {proj}/link");
        var third = await Assert.ThrowsAsync<SandboxException>(() => _box.Client.CopyFromSandboxAsync(proj, _host["dst"]));
        Assert.Contains("'link'", third.Message);
        await _box.ShAsync($"rm {proj}/link && mkdir {proj}/link && echo pwned > {proj}/link/pwned.txt");
        await _box.Client.CopyFromSandboxAsync(proj, _host["dst"]);
        Assert.Equal("pwned\n", File.ReadAllText(Path.Combine(_host["dst"], proj, "link/pwned.txt")));

        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_host["victim"], mtimes: true), "the victim directory");
    }

    [Fact(Timeout = 120_000)]
    public async Task Item3_SandboxChildLink_OntoTheUsersDirectory_IsRefused_TheUsersFilesStay()
    {
        var proj = Unique("proj");
        await _box.ShAsync($"mkdir -p {proj}/data && echo 1 > {proj}/data/rows.csv && echo a > {proj}/a.txt");
        await _box.Client.CopyFromSandboxAsync(proj, _host.Path);
        File.WriteAllText(_host[proj + "/data/mine.csv"], "the user's own work");
        var before = TreeSnapshot.Take(_host.Path, mtimes: true);

        await _box.ShAsync($"rm -r {proj}/data && ln -s a.txt {proj}/data && echo changed > {proj}/a.txt");
        var ex = await Assert.ThrowsAsync<SandboxException>(() => _box.Client.CopyFromSandboxAsync(proj, _host.Path));
        Assert.Equal(SandboxErrorIds.LocalPathConflict, ex.ErrorId);
        Assert.Contains(_host[proj + "/data"], ex.Message);
        TreeSnapshot.AssertSame(before, TreeSnapshot.Take(_host.Path, mtimes: true), "the local tree (a.txt not changed either)");
    }

    private enum HostFileSystemKind
    {
        Missing,
        Present,
    }

    private static HostFileSystemKind Kind(string path) =>
        new FileInfo(path).LinkTarget is null && !File.Exists(path) && !Directory.Exists(path) ? HostFileSystemKind.Missing : HostFileSystemKind.Present;

    [Fact(Timeout = 120_000)]
    public async Task Item4_SameNamedChild_CopiesOutWithItsLayout()
    {
        var proj = Unique("pkg");
        await _box.ShAsync($"mkdir -p {proj}/{proj} && echo inner > {proj}/{proj}/__init__.py && echo top > {proj}/setup.py");
        await _box.Client.CopyFromSandboxAsync(proj, _host.Path);
        Assert.Equal("inner\n", File.ReadAllText(_host[$"{proj}/{proj}/__init__.py"]));
        Assert.Equal("top\n", File.ReadAllText(_host[$"{proj}/setup.py"]));
        Assert.False(File.Exists(_host[$"{proj}/__init__.py"]));
    }
}
