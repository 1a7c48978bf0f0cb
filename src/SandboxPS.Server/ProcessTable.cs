namespace SandboxPS.Server;

/// <summary>Reads /proc to find the processes of a terminal session (background jobs have their own groups).</summary>
internal static class ProcessTable
{
    /// <summary>The children of <paramref name="pid"/> (from /proc/PID/task/PID/children, else a scan).</summary>
    public static HashSet<int> Children(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/task/{pid}/children");
            return text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return Parents().Where(p => p.Value == pid).Select(p => p.Key).ToHashSet();
        }
    }

    /// <summary>All descendants of <paramref name="root"/>, leaving out the subtrees of the children in <paramref name="spare"/>.</summary>
    public static List<int> Descendants(int root, IReadOnlySet<int> spare)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var (pid, ppid) in Parents())
        {
            if (!children.TryGetValue(ppid, out var list))
            {
                children[ppid] = list = [];
            }
            list.Add(pid);
        }
        var result = new List<int>();
        var todo = new Stack<int>();
        foreach (var child in children.GetValueOrDefault(root) ?? [])
        {
            if (!spare.Contains(child))
            {
                todo.Push(child);
            }
        }
        while (todo.Count > 0 && result.Count < 100_000)
        {
            var pid = todo.Pop();
            result.Add(pid);
            foreach (var c in children.GetValueOrDefault(pid) ?? [])
            {
                todo.Push(c);
            }
        }
        return result;
    }

    private static Dictionary<int, int> Parents()
    {
        var result = new Dictionary<int, int>();
        foreach (var (pid, fields) in Stats())
        {
            if (fields.Length > 1 && int.TryParse(fields[1], out var ppid))
            {
                result[pid] = ppid;
            }
        }
        return result;
    }

    /// <summary>(pid, the fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, ...).</summary>
    private static IEnumerable<(int Pid, string[] Fields)> Stats()
    {
        IEnumerable<string> dirs;
        try
        {
            dirs = Directory.EnumerateDirectories("/proc").ToList();
        }
        catch (IOException)
        {
            yield break;
        }
        foreach (var dir in dirs)
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            // pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
            yield return (pid, stat[(stat.LastIndexOf(')') + 2)..].Split(' '));
        }
    }

    public static List<int> InSession(int sessionId)
    {
        var result = new List<int>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    continue;
                }
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    // pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (fields.Length > 3 && int.TryParse(fields[3], out var sid) && sid == sessionId)
                    {
                        result.Add(pid);
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
        catch (IOException)
        {
        }
        return result;
    }

    /// <summary>True while <paramref name="signal"/> is pending for <paramref name="pid"/> (to a thread or the process).</summary>
    public static bool SignalPending(int pid, int signal)
    {
        string status;
        try
        {
            status = File.ReadAllText($"/proc/{pid}/status");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        ulong bit = 1UL << (signal - 1);
        foreach (var line in status.Split('\n'))
        {
            if ((line.StartsWith("SigPnd:", StringComparison.Ordinal) || line.StartsWith("ShdPnd:", StringComparison.Ordinal))
                && ulong.TryParse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, null, out var mask)
                && (mask & bit) != 0)
            {
                return true;
            }
        }
        return false;
    }
}
