using SandboxPS.Core.Providers.Process;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace SandboxPS.Core.Tests;

/// <summary>
/// A private state directory for process sandboxes. Disposing removes every sandbox recorded in it and
/// then checks that no process started for it is still alive.
/// </summary>
public sealed class TempStateDir : IAsyncLifetime
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sbx-core-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public ProcessSandboxProvider NewProvider() => new(Path);

    public SandboxManager NewManager() => new([NewProvider()]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Path);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        var provider = NewProvider();
        await foreach (var sandbox in provider.ListAsync())
        {
            await provider.RemoveAsync(sandbox.Id);
        }
        var survivors = ProcessesMentioning(Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        Assert.True(survivors.Count == 0, "processes left running: " + string.Join("; ", survivors));
    }

    /// <summary>Live (non-zombie) processes whose command line mentions <paramref name="marker"/>.</summary>
    public static List<string> ProcessesMentioning(string marker)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmd = File.ReadAllText(System.IO.Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var stat = File.ReadAllText(System.IO.Path.Combine(dir, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                if (cmd.Contains(marker, StringComparison.Ordinal) && state != 'Z')
                {
                    found.Add($"{pid}: {cmd}");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Writes an executable fake server script named sandboxps-server into a fresh directory.</summary>
    public string FakeServer(string body)
    {
        var dir = System.IO.Path.Combine(Path, "fake-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        var file = System.IO.Path.Combine(dir, ServerBinary.FileName);
        File.WriteAllText(file, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return file;
    }
}

internal static class Guard
{
    /// <summary>A token that ends hung tests (a bound on hangs, not a timing assertion).</summary>
    public static CancellationToken Minutes(double minutes) => new CancellationTokenSource(TimeSpan.FromMinutes(minutes)).Token;
}
