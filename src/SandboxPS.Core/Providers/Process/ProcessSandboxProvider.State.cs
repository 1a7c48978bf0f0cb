using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using SandboxPS.Core.Providers.Kit;
using SandboxPS.Protocol;

namespace SandboxPS.Core.Providers.Process;

/// <summary>The process provider's state files: one JSON record per sandbox (0600) under a 0700 directory, written under a lock.</summary>
public sealed partial class ProcessSandboxProvider
{
    private string RecordPath(string id) => Path.Combine(RecordsDirectory, id + ".json");

    private static bool IsPlainId(string id) => id.Length is > 0 and <= 64 && id.All(char.IsAsciiLetterOrDigit);

    private ProcessSandboxRecord? ReadRecord(string id)
    {
        if (!IsPlainId(id))
        {
            return null;
        }
        return ReadRecordFile(RecordPath(id));
    }

    private static ProcessSandboxRecord? ReadRecordFile(string path)
    {
        try
        {
            var json = File.ReadAllText(path);
            var record = JsonSerializer.Deserialize(json, ProcessStateJsonContext.Default.ProcessSandboxRecord);
            // Its creator died after the launch but before it wrote the endpoint (kill -9): the server's
            // first line in the log still says where it listens, so the sandbox is usable, not "Starting".
            if (record is { ServerPid: 0 } && TryReadListening(record.LogPath) is { } listening)
            {
                record = record with { Endpoint = listening.Listening, ServerPid = listening.Pid };
            }
            return record;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            Trace.WriteLine($"sandboxps: unreadable state file {path}: {ex.Message}");
            return null;
        }
    }

    private List<ProcessSandboxRecord> ReadAllRecords()
    {
        if (!Directory.Exists(RecordsDirectory))
        {
            return [];
        }
        return Directory.EnumerateFiles(RecordsDirectory, "*.json")
                        .Select(ReadRecordFile)
                        .Where(r => r is not null)
                        .Select(r => r!)
                        .ToList();
    }

    private void WriteRecord(ProcessSandboxRecord record)
    {
        SandboxStateDirectory.CreatePrivate(StateDirectory);
        SandboxStateDirectory.CreatePrivate(RecordsDirectory);
        var path = RecordPath(record.Id);
        var tmp = path + "." + System.Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(tmp, options))
        {
            JsonSerializer.Serialize(stream, record, ProcessStateJsonContext.Default.ProcessSandboxRecord);
        }
        SetPrivateFile(tmp);
        File.Move(tmp, path, overwrite: true);
    }

    private static void SetPrivateFile(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private async Task WithLockAsync(Action action, CancellationToken ct)
    {
        SandboxStateDirectory.CreatePrivate(StateDirectory);
        SandboxStateDirectory.CreatePrivate(RecordsDirectory);
        var lockPath = Path.Combine(RecordsDirectory, ".lock");
        var deadline = Stopwatch.StartNew();
        int delay = 2;
        while (true)
        {
            FileStream? handle = null;
            try
            {
                handle = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 50);
                continue;
            }
            using (handle)
            {
                action();
                return;
            }
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Trace.WriteLine($"sandboxps: could not delete {path}: {ex.Message}");
        }
    }

    private static int? ReadExitCode(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static IReadOnlyList<string> TailLines(string path, int count)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int window = 64 * 1024;
            if (stream.Length > window)
            {
                stream.Seek(-window, SeekOrigin.End);
            }
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
            return lines.Skip(Math.Max(0, lines.Count - count)).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
