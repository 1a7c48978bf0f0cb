namespace SandboxPS.Server;

/// <summary>Reads /proc to find the processes of a terminal session (background jobs have their own groups).</summary>
internal static class ProcessTable
{
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
}
