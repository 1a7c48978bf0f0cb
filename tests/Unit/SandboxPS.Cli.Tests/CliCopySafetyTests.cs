namespace SandboxPS.Cli.Tests;

/// <summary>
/// Issue 11 items 2 and 3 as reported: `sandboxps cp SANDBOX:DIR ./local` against a real process sandbox
/// that changes between copies. The user's files stay, nothing lands outside the destination, exit 125 with
/// an error id naming the entry.
/// </summary>
public sealed class CliCopySafetyTests : IClassFixture<SharedSandbox>, IDisposable
{
    private readonly SharedSandbox _box;
    private readonly string _local = Path.Combine(Path.GetTempPath(), "sbx-cli-cp-" + Guid.NewGuid().ToString("N")[..8]);
    private CliHarness Cli => _box.Cli;

    public CliCopySafetyTests(SharedSandbox box)
    {
        _box = box;
        Directory.CreateDirectory(Path.Combine(_local, "victim"));
        File.WriteAllText(Path.Combine(_local, "victim", "keep.txt"), "keep");
    }

    public void Dispose() => Directory.Delete(_local, recursive: true);

    private async Task Sh(string script)
    {
        var result = await Cli.RunAsync("exec", SharedSandbox.Name, "--", script);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Cp_OutOfAChangingSandbox_NeverDeletesOrEscapes()
    {
        var name = "cli-safe-" + Guid.NewGuid().ToString("N")[..6];
        var proj = "/tmp/" + name;
        var victim = Path.Combine(_local, "victim");
        var dst = Path.Combine(_local, name);   // each copy of proj into _local lands here
        await Sh($"mkdir -p {proj}/data && echo 1 > {proj}/data/rows.csv && echo a > {proj}/a.txt");
        var first = await Cli.RunAsync("cp", $"{SharedSandbox.Name}:{proj}", _local);
        Assert.True(first.ExitCode == 0, first.ToString());
        File.WriteAllText(Path.Combine(dst, "data", "mine.csv"), "the user's own work");

        // item 2: the child becomes a link out of the copy
        await Sh($"rm -r {proj}/data && ln -s {victim} {proj}/data");
        var escape = await Cli.RunAsync("cp", $"{SharedSandbox.Name}:{proj}", _local);
        Assert.True(escape.ExitCode == 125, escape.ToString());
        Assert.StartsWith("error: InvalidArchive: Refused archive entry 'data'", escape.Stderr);

        // item 3: the child becomes a link inside the copy, onto the user's directory
        await Sh($"rm {proj}/data && ln -s a.txt {proj}/data");
        var conflict = await Cli.RunAsync("cp", $"{SharedSandbox.Name}:{proj}", _local);
        Assert.True(conflict.ExitCode == 125, conflict.ToString());
        Assert.StartsWith("error: LocalPathConflict: ", conflict.Stderr);
        Assert.Contains(Path.Combine(dst, "data"), conflict.Stderr);
        Assert.Equal("the user's own work", File.ReadAllText(Path.Combine(dst, "data", "mine.csv")));
        Assert.Equal("1\n", File.ReadAllText(Path.Combine(dst, "data", "rows.csv")));

        // item 2: the source itself is a link out; refused, and a later copy through that name stays inside
        await Sh($"ln -s {victim} {proj}-out");
        var source = await Cli.RunAsync("cp", $"{SharedSandbox.Name}:{proj}-out", Path.Combine(_local, "out"));
        Assert.True(source.ExitCode == 125, source.ToString());
        Assert.False(Path.Exists(Path.Combine(_local, "out")));
        await Sh($"rm {proj}-out && mkdir {proj}-out && echo pwned > {proj}-out/pwned.txt");
        var later = await Cli.RunAsync("cp", $"{SharedSandbox.Name}:{proj}-out", Path.Combine(_local, "out"));
        Assert.True(later.ExitCode == 0, later.ToString());

        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(victim).Select(p => Path.GetFileName(p)!).ToArray());
        Assert.Equal("keep", File.ReadAllText(Path.Combine(victim, "keep.txt")));
        await Sh($"rm -rf {proj} {proj}-out");
    }
}
