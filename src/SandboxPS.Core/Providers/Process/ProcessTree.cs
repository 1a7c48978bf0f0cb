using System.Globalization;
using System.Runtime.InteropServices;

namespace SandboxPS.Core.Providers.Process;

/// <summary>Linux process-table helpers (/proc) for finding and ending a sandbox's whole process tree.</summary>
internal static partial class ProcessTree
{
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    internal readonly record struct ProcInfo(int Pid, int ParentPid, int ProcessGroup, int Session, char State);

    /// <summary>Reads /proc/PID/stat; null when the process does not exist.</summary>
    public static ProcInfo? Read(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ppid pgrp session ..." — comm may contain spaces and parentheses.
            int close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            return new ProcInfo(pid, int.Parse(fields[1], CultureInfo.InvariantCulture),
                                int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture), fields[0][0]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>True when the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid) => Read(pid) is { } p && p.State is not ('Z' or 'X' or 'x');

    /// <summary>The NUL-separated command line of a process, joined by spaces; empty when unreadable.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>True when <paramref name="pid"/> is alive and its command line contains every marker (guards against reused pids).</summary>
    public static bool IsAliveAndMatches(int pid, params string[] markers)
    {
        if (!IsAlive(pid))
        {
            return false;
        }
        var cmd = CommandLine(pid);
        return markers.All(m => cmd.Contains(m, StringComparison.Ordinal));
    }

    public static IReadOnlyList<ProcInfo> Snapshot()
    {
        var list = new List<ProcInfo>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Read(pid) is { } info)
            {
                list.Add(info);
            }
        }
        return list;
    }

    /// <summary>
    /// Everything that belongs to the trees rooted at <paramref name="roots"/>: their descendants, plus
    /// every process in a session one of them leads (background jobs of the server's shell sessions, even
    /// when orphaned). Never this process, its session, or pid 1.
    /// </summary>
    public static HashSet<int> Collect(IEnumerable<int> roots)
    {
        var all = Snapshot();
        var children = all.ToLookup(p => p.ParentPid);
        int self = System.Environment.ProcessId;
        int ownSession = Read(self)?.Session ?? -1;
        var result = new HashSet<int>();
        var queue = new Queue<int>(roots.Where(r => r > 1));
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            if (pid == self || !result.Add(pid))
            {
                continue;
            }
            foreach (var child in children[pid])
            {
                queue.Enqueue(child.Pid);
            }
        }
        var sessions = all.Where(p => result.Contains(p.Pid) && p.Session == p.Pid && p.Session != ownSession && p.Session > 1)
                          .Select(p => p.Session).ToHashSet();
        foreach (var p in all)
        {
            if (sessions.Contains(p.Session) && p.Pid != self && p.Pid > 1)
            {
                result.Add(p.Pid);
            }
        }
        result.Remove(1);
        result.Remove(self);
        return result;
    }

    public static void Terminate(int pid) => Signal(pid, SIGTERM);

    public static void KillAll(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            Signal(pid, SIGKILL);
        }
    }

    private static void Signal(int pid, int signal)
    {
        if (pid > 1 && pid != System.Environment.ProcessId)
        {
            _ = SysKill(pid, signal);
        }
    }

    /// <summary>Waits (polling every few ms) until none of <paramref name="pids"/> is alive, or the time is up.</summary>
    public static async Task<bool> WaitExitAsync(IReadOnlyCollection<int> pids, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        int delay = 2;
        while (pids.Any(IsAlive))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 50);
        }
        return true;
    }
}
