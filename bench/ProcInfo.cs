using System.Globalization;

namespace SandboxPS.Bench;

/// <summary>Reads process memory from /proc (Linux), and samples peaks while something streams.</summary>
internal static class ProcInfo
{
    public const string ServerComm = "sandboxps-serv"; // /proc/PID/comm keeps 15 characters

    /// <summary>VmRSS of a process in bytes; null when it is gone.</summary>
    public static long? ReadRssBytes(int pid) => ReadStatusKb(pid, "VmRSS:") is { } kb ? kb * 1024 : null;

    /// <summary>VmHWM (peak resident set) of a process in bytes; null when it is gone.</summary>
    public static long? ReadPeakRssBytes(int pid) => ReadStatusKb(pid, "VmHWM:") is { } kb ? kb * 1024 : null;

    public static string? ReadComm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The sandboxps-server processes in the tree rooted at <paramref name="rootPid"/> (itself
    /// included), parents first. As PID 1 of a container the server forks: the parent stays as a
    /// small init that reaps orphans, the child serves.
    /// </summary>
    public static IReadOnlyList<int> FindServersInTree(int rootPid)
    {
        var found = new List<int>();
        var queue = new Queue<int>([rootPid]);
        var seen = new HashSet<int>();
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            if (!seen.Add(pid))
            {
                continue;
            }
            if (IsServer(pid))
            {
                found.Add(pid);
            }
            foreach (var child in Children(pid))
            {
                queue.Enqueue(child);
            }
        }
        return found;
    }

    /// <summary>The serving process: the deepest sandboxps-server (one with no sandboxps-server child).</summary>
    public static int? FindServingProcess(int rootPid)
    {
        var servers = FindServersInTree(rootPid);
        return servers.LastOrDefault(pid => !Children(pid).Any(IsServer)) is var p && p != 0 ? p : null;
    }

    public static bool IsServer(int pid) => ReadComm(pid)?.StartsWith(ServerComm, StringComparison.Ordinal) == true;

    /// <summary>Proportional set size (shared pages split among their users), in bytes; null when unknown.</summary>
    public static long? ReadPssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    return long.Parse(line["Pss:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>Sum of VmRSS over every process in the tree rooted at <paramref name="rootPid"/>.</summary>
    public static long TreeRssBytes(int rootPid)
    {
        long total = 0;
        var queue = new Queue<int>([rootPid]);
        var seen = new HashSet<int>();
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            if (!seen.Add(pid))
            {
                continue;
            }
            total += ReadRssBytes(pid) ?? 0;
            foreach (var child in Children(pid))
            {
                queue.Enqueue(child);
            }
        }
        return total;
    }

    private static IEnumerable<int> Children(int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{pid}/task");
        }
        catch (IOException)
        {
            yield break;
        }
        catch (UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var task in tasks)
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (IOException)
            {
                continue;
            }
            foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return int.Parse(part, CultureInfo.InvariantCulture);
            }
        }
    }

    private static long? ReadStatusKb(int pid, string key)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var number = line[key.Length..].Trim().Split(' ')[0];
                    return long.Parse(number, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}

/// <summary>
/// Samples the resident set of this process (and optionally the server) every few milliseconds
/// while a transfer runs, so "memory flat while streaming" is a number, not a hope.
/// </summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly int? _serverPid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly long _clientStart;

    public RssSampler(int? serverPid)
    {
        _serverPid = serverPid;
        _clientStart = ProcInfo.ReadRssBytes(Environment.ProcessId) ?? 0;
        ClientPeak = _clientStart;
        _loop = Task.Run(LoopAsync);
    }

    public long ClientPeak { get; private set; }

    public long ServerPeak { get; private set; }

    /// <summary>Peak growth of this process's resident set during the sampling, in bytes.</summary>
    public long ClientPeakDelta => Math.Max(0, ClientPeak - _clientStart);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (true)
        {
            Sample();
            try
            {
                await Task.Delay(10, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Sample();
                return;
            }
        }
    }

    private void Sample()
    {
        ClientPeak = Math.Max(ClientPeak, ProcInfo.ReadRssBytes(Environment.ProcessId) ?? 0);
        if (_serverPid is { } pid)
        {
            ServerPeak = Math.Max(ServerPeak, ProcInfo.ReadRssBytes(pid) ?? 0);
        }
    }
}
