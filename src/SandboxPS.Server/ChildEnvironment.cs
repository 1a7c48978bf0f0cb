using System.Collections;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>The environment of sessions and exec: the server's own (the token was removed at start) plus the caller's.</summary>
internal static class ChildEnvironment
{
    public static List<string> Build(IReadOnlyDictionary<string, string>? extra, bool shell)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? "";
        }
        env.Remove(ProtocolConstants.TokenEnvironmentVariable);
        env.Remove("ENV");
        env.Remove("BASH_ENV");
        env.TryAdd("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        // A terminal nobody looks at: no colors, no pagers waiting for a key.
        env["TERM"] = "dumb";
        env.TryAdd("PAGER", "cat");
        env.TryAdd("GIT_PAGER", "cat");
        env["PYTHONUNBUFFERED"] = "1";
        if (shell)
        {
            env["PS1"] = "";
            env["PS2"] = "";
        }
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                Validate(k, v);
                env[k] = v;
            }
        }
        return env.Select(kv => kv.Key + "=" + kv.Value).ToList();
    }

    public static void Validate(string key, string? value)
    {
        if (value is null)
        {
            throw ApiException.BadRequest($"The environment variable '{key}' has a null value; give a string (\"\" for an empty value).");
        }
        if (string.IsNullOrEmpty(key) || key.Contains('=') || key.Contains('\0') || value.Contains('\0'))
        {
            throw ApiException.BadRequest($"Invalid environment variable name or value: '{key}'. Names must be non-empty without '=' or NUL; values without NUL.");
        }
    }

    /// <summary>Finds a program on PATH (the caller's PATH when given, else the server's).</summary>
    public static string? Which(string name, IReadOnlyDictionary<string, string>? extra)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? name : null;
        }
        string? path = null;
        extra?.TryGetValue("PATH", out path);
        path ??= Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }
        return null;
    }
}
