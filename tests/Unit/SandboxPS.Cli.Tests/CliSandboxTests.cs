using System.Diagnostics;

namespace SandboxPS.Cli.Tests;

/// <summary>One sandbox, made by one CLI process and driven by many others.</summary>
public sealed class SharedSandbox : IAsyncLifetime
{
    public CliHarness Cli { get; } = new();
    public string Id { get; private set; } = "";
    public const string Name = "cli-shared";

    public async Task InitializeAsync()
    {
        await Cli.InitializeAsync();
        Id = await Cli.NewAsync("--name", Name, "--label", "team=ci", "--ttl", "10m");
    }

    public Task DisposeAsync() => Cli.DisposeAsync();
}

public sealed class CliSandboxTests : IClassFixture<SharedSandbox>
{
    private readonly SharedSandbox _box;
    private CliHarness Cli => _box.Cli;

    public CliSandboxTests(SharedSandbox box) => _box = box;

    [Fact(Timeout = 120_000)]
    public async Task Ls_ShowsTheSandbox_TextAndJson()
    {
        var text = await Cli.RunAsync("ls");
        Assert.Contains(SharedSandbox.Name, text.Stdout);
        Assert.Contains(_box.Id[..12], text.Stdout);

        var json = Assert.Single(( await Cli.RunAsync("ls", "--json")).JsonLines, j => j.GetProperty("id").GetString() == _box.Id);
        Assert.Equal(SharedSandbox.Name, json.GetProperty("name").GetString());
        Assert.Equal("process", json.GetProperty("provider").GetString());
        Assert.Equal("ready", json.GetProperty("state").GetString());
        Assert.StartsWith("http://127.0.0.1:", json.GetProperty("endpoint").GetString());
        Assert.Equal("ci", json.GetProperty("labels").GetProperty("team").GetString());
        Assert.Equal("true", json.GetProperty("labels").GetProperty("sandboxps.managed").GetString());
        Assert.True(json.TryGetProperty("createdAt", out _));
        Assert.True(json.TryGetProperty("expiresAt", out _));

        var filtered = await Cli.RunAsync("ls", "--json", "--label", "team=other");
        Assert.Equal("", filtered.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Exec_StateOfTheSessionPersistsAcrossCliProcesses()
    {
        var session = "persist-" + Guid.NewGuid().ToString("N")[..4];
        Assert.Equal(0, (await Cli.RunAsync("session", "new", SharedSandbox.Name, "--id", session)).ExitCode);
        Assert.Equal(0, (await Cli.RunAsync("exec", SharedSandbox.Name, "--session", session, "--", "cd /tmp && export GREETING=hello")).ExitCode);
        var result = await Cli.RunAsync("exec", _box.Id[..6], "--session", session, "--", "echo", "$GREETING", "from", "$(pwd)");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello from /tmp\n", CliHarness.Lf(result.Stdout));
    }

    [Fact(Timeout = 120_000)]
    public async Task ExecStdin_BytesArriveExactly_StateStays_AndUnreadInputIsNeverRunByTheShell()
    {
        var session = "stdin-" + Guid.NewGuid().ToString("N")[..4];
        Assert.Equal(0, (await Cli.RunAsync("session", "new", SharedSandbox.Name, "--id", session)).ExitCode);
        // Bytes a terminal would act on (Ctrl-C, Ctrl-D, CR) and a line far longer than a terminal line.
        var data = new byte[300_000];
        new Random(7).NextBytes(data);
        data[0] = 0x03;
        data[1] = 0x04;
        var sha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data)).ToLowerInvariant();
        var hashed = await Cli.RunWithInputAsync(data, "exec", "-i", SharedSandbox.Name, "--session", session, "--", "cd /tmp && sha256sum");
        Assert.True(hashed.ExitCode == 0, hashed.ToString());
        Assert.Equal(sha + "  -\n", CliHarness.Lf(hashed.Stdout));
        var marker = Path.Combine(Path.GetTempPath(), "sbx-stdin-" + Guid.NewGuid().ToString("N"));
        var partial = await Cli.RunWithInputAsync(System.Text.Encoding.UTF8.GetBytes($"first\ntouch {marker}\n"),
            "exec", "--stdin", SharedSandbox.Name, "--session", session, "--", "head -n 1");
        Assert.Equal("first\n", CliHarness.Lf(partial.Stdout));
        var after = await Cli.RunAsync("exec", SharedSandbox.Name, "--session", session, "--", "pwd");
        Assert.Equal("/tmp\n", CliHarness.Lf(after.Stdout));
        using (var state = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Cli.StateDir, "process", _box.Id + ".json"))))
        {
            var workDir = state.RootElement.GetProperty("workDir").GetString()!;
            Assert.Empty(Directory.GetFiles(workDir, ".sandboxps-stdin-*"));
        }
        Assert.False(File.Exists(marker), "the line the command did not read was run by the shell");
        var python = await Cli.RunWithInputAsync([], "session", "new", SharedSandbox.Name, "--kind", "python", "--id", session + "py");
        Assert.Equal(0, python.ExitCode);
        var refused = await Cli.RunWithInputAsync([], "exec", "-i", SharedSandbox.Name, "--session", session + "py", "--", "print(1)");
        Assert.Equal(125, refused.ExitCode);
        Assert.Contains("error: InvalidCommandLine: --stdin", refused.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task Exec_ExitCodeAndTimeout()
    {
        Assert.Equal(5, (await Cli.RunAsync("exec", _box.Id, "--", "(exit 5)")).ExitCode);
        var timedOut = await Cli.RunAsync("exec", SharedSandbox.Name, "--timeout", "0.5", "--", "sleep", "20");
        Assert.Equal(124, timedOut.ExitCode);
        var json = await Cli.RunAsync("exec", SharedSandbox.Name, "--json", "--timeout", "0.5", "--", "sleep", "20");
        Assert.Equal(124, json.ExitCode);
        Assert.True(json.Json.GetProperty("timedOut").GetBoolean());
        Assert.Equal(0, (await Cli.RunAsync("exec", SharedSandbox.Name, "--", "true")).ExitCode);   // session still usable
    }

    [Fact(Timeout = 120_000)]
    public async Task Exec_StreamsOutputWhileTheCommandRuns()
    {
        var session = "stream-" + Guid.NewGuid().ToString("N")[..4];
        Assert.Equal(0, (await Cli.RunAsync("session", "new", SharedSandbox.Name, "--id", session)).ExitCode);
        var marker = Path.Combine(Cli.StateDir, "release-" + Guid.NewGuid().ToString("N")[..6]);
        using var process = Process.Start(Cli.StartInfo("exec", SharedSandbox.Name, "--session", session, "--",
            $"echo first; while [ ! -e {marker} ]; do sleep 0.05; done; echo second"))!;
        process.StandardInput.Close();
        var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("first", first?.TrimEnd('\r'));
        Assert.False(process.HasExited, "the first line must arrive while the command still runs");
        File.WriteAllText(marker, "");
        var rest = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, process.ExitCode);
        Assert.Equal("second\n", CliHarness.Lf(rest));
    }

    [Fact(Timeout = 120_000)]
    public async Task TwoCliProcesses_DriveTheSameSandboxAtOnce()
    {
        var a = "par-a-" + Guid.NewGuid().ToString("N")[..4];
        var b = "par-b-" + Guid.NewGuid().ToString("N")[..4];
        Assert.Equal(0, (await Cli.RunAsync("session", "new", SharedSandbox.Name, "--id", a)).ExitCode);
        Assert.Equal(0, (await Cli.RunAsync("session", "new", SharedSandbox.Name, "--id", b)).ExitCode);
        var marker = "/tmp/sbx-par-" + Guid.NewGuid().ToString("N")[..6];
        // Each waits for the other's file: they can only both finish if they run at the same time.
        var first = Cli.RunAsync("exec", SharedSandbox.Name, "--session", a, "--",
            $"touch {marker}.a; for i in $(seq 400); do [ -e {marker}.b ] && break; sleep 0.05; done; [ -e {marker}.b ] && echo A-saw-B");
        var second = Cli.RunAsync("exec", _box.Id, "--session", b, "--",
            $"touch {marker}.b; for i in $(seq 400); do [ -e {marker}.a ] && break; sleep 0.05; done; [ -e {marker}.a ] && echo B-saw-A");
        var results = await Task.WhenAll(first, second);
        Assert.True(results[0].ExitCode == 0, results[0].ToString());
        Assert.True(results[1].ExitCode == 0, results[1].ToString());
        Assert.Contains("A-saw-B", results[0].Stdout);
        Assert.Contains("B-saw-A", results[1].Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Session_NewLsRm_AndPythonKeepsItsState()
    {
        var created = await Cli.RunAsync("session", "new", SharedSandbox.Name, "--kind", "python", "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        var session = created.Json;
        var id = session.GetProperty("id").GetString()!;
        Assert.Equal("python", session.GetProperty("kind").GetString());
        Assert.Equal(_box.Id, session.GetProperty("sandboxId").GetString());

        Assert.Equal(0, (await Cli.RunAsync("exec", SharedSandbox.Name, "--session", id, "--", "x = 41")).ExitCode);
        var answer = await Cli.RunAsync("exec", SharedSandbox.Name, "--session", id, "--", "x", "+", "1");
        Assert.Equal("42", answer.Stdout.Trim());
        var json = await Cli.RunAsync("exec", SharedSandbox.Name, "--session", id, "--json", "--", "x * 2");
        Assert.Equal("Python", json.Json.GetProperty("action").GetString());
        Assert.Equal("82", json.Json.GetProperty("output").GetString()!.Trim());
        var error = await Cli.RunAsync("exec", SharedSandbox.Name, "--session", id, "--", "1/0");
        Assert.Equal(1, error.ExitCode);
        Assert.Contains("ZeroDivisionError", error.Stdout);

        var text = await Cli.RunAsync("session", "new", SharedSandbox.Name);
        var shellId = text.Stdout.Split('\t')[0];
        Assert.Equal("shell", text.Stdout.Split('\t')[1].Trim());

        var list = await Cli.RunAsync("session", "ls", SharedSandbox.Name, "--json");
        Assert.Contains(list.JsonLines, j => j.GetProperty("id").GetString() == id && j.GetProperty("kind").GetString() == "python");
        Assert.Contains(list.JsonLines, j => j.GetProperty("id").GetString() == shellId);
        Assert.Contains(id, (await Cli.RunAsync("session", "ls", SharedSandbox.Name)).Stdout);

        var removed = await Cli.RunAsync("session", "rm", SharedSandbox.Name, id, "--json");
        Assert.True(removed.Json.GetProperty("removed").GetBoolean());
        var again = await Cli.RunAsync("session", "rm", SharedSandbox.Name, id);
        Assert.Equal(125, again.ExitCode);
        Assert.StartsWith("error: SessionNotFound: ", again.Stderr);
        Assert.Equal(0, (await Cli.RunAsync("session", "rm", SharedSandbox.Name, shellId)).ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Cp_DirectoryInAndOut()
    {
        var local = Path.Combine(Cli.StateDir, "cp-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(local, "proj", "sub"));
        File.WriteAllText(Path.Combine(local, "proj", "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(local, "proj", "sub", "b.txt"), "beta\n");
        var remote = "/tmp/cli-cp-" + Guid.NewGuid().ToString("N")[..6];

        var toBox = await Cli.RunAsync("cp", Path.Combine(local, "proj"), $"{SharedSandbox.Name}:{remote}");
        Assert.True(toBox.ExitCode == 0, toBox.ToString());
        Assert.Equal("beta\n", CliHarness.Lf((await Cli.RunAsync("exec", SharedSandbox.Name, "--", "cat", remote + "/sub/b.txt")).Stdout));

        var back = Path.Combine(local, "back");
        var fromBox = await Cli.RunAsync("cp", "--json", $"{SharedSandbox.Name}:{remote}", back);
        Assert.True(fromBox.ExitCode == 0, fromBox.ToString());
        Assert.Equal("from", fromBox.Json.GetProperty("direction").GetString());
        Assert.Equal("alpha\n", File.ReadAllText(Path.Combine(back, "a.txt")));
        Assert.Equal("beta\n", File.ReadAllText(Path.Combine(back, "sub", "b.txt")));

        var file = await Cli.RunAsync("cp", $"{_box.Id}:{remote}/a.txt", local);
        Assert.Equal(0, file.ExitCode);
        Assert.Equal("alpha\n", File.ReadAllText(Path.Combine(local, "a.txt")));

        var missing = await Cli.RunAsync("cp", $"{SharedSandbox.Name}:/no/such/path", local);
        Assert.Equal(125, missing.ExitCode);
        Assert.StartsWith("error: PathNotFound: ", missing.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task Edit_PrintsTheDiff_OrNamedErrors()
    {
        var file = "/tmp/cli-edit-" + Guid.NewGuid().ToString("N")[..6] + ".py";
        Assert.Equal(0, (await Cli.RunAsync("exec", SharedSandbox.Name, "--", $"printf 'a = 1\\nb = 2\\nb = 2\\n' > {file}")).ExitCode);

        var edit = await Cli.RunAsync("edit", SharedSandbox.Name, file, "--old", "a = 1", "--new", "a = 10");
        Assert.True(edit.ExitCode == 0, edit.ToString());
        Assert.Contains("-a = 1", edit.Stdout);
        Assert.Contains("+a = 10", edit.Stdout);
        Assert.Equal("a = 10\n", CliHarness.Lf((await Cli.RunAsync("exec", SharedSandbox.Name, "--", "head -n1", file)).Stdout));

        var json = await Cli.RunAsync("edit", SharedSandbox.Name, file, "--old", "a = 10", "--new", "a = 11", "--json");
        Assert.Contains("+a = 11", json.Json.GetProperty("diff").GetString());

        var none = await Cli.RunAsync("edit", SharedSandbox.Name, file, "--old", "zzz", "--new", "y");
        Assert.Equal(125, none.ExitCode);
        Assert.StartsWith("error: EditNoMatch: ", none.Stderr);
        var many = await Cli.RunAsync("edit", SharedSandbox.Name, file, "--old", "b = 2", "--new", "y");
        Assert.Equal(125, many.ExitCode);
        Assert.StartsWith("error: EditAmbiguous: ", many.Stderr);
    }
}
