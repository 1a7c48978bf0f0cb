using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SandboxPS.Core;
using SandboxPS.Protocol;

namespace SandboxPS.Cli;

/// <summary>Writes results: readable text, or with --json one JSON object per line.</summary>
internal sealed class CliOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public CliOutput(bool json, TextWriter stdout, TextWriter stderr)
    {
        Json = json;
        Out = stdout;
        Err = stderr;
    }

    public bool Json { get; }
    public TextWriter Out { get; }
    public TextWriter Err { get; }

    public void WriteJson<T>(T value)
    {
        Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        Out.Flush();
    }

    public void Line(string text)
    {
        Out.WriteLine(text);
        Out.Flush();
    }

    public void Warn(string text)
    {
        Err.WriteLine("warning: " + text);
        Err.Flush();
    }

    public int Error(SandboxException ex)
    {
        Err.WriteLine($"error: {ex.ErrorId}: {ex.Message}");
        if (!string.IsNullOrEmpty(ex.RecommendedAction))
        {
            Err.WriteLine($"hint: {ex.RecommendedAction}");
        }
        Err.Flush();
        return ExitCodes.SandboxpsError;
    }

    public static SandboxView View(Sandbox s) => new(s.Id, s.Name, s.Provider, s.State, s.Endpoint, s.Image, s.Runtime,
        new SortedDictionary<string, string>(s.Labels.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
        s.CreatedAt, s.ExpiresAt);

    public static ActionView View(SandboxActionResult r) => new(r.SandboxId, r.SandboxName, r.SessionId, r.Action, r.ExitCode, r.Output,
        r.Stdout, r.Stderr, r.Cwd, r.TimedOut, r.Truncated, Math.Round(r.Duration.TotalMilliseconds, 1));

    public static string Short(string id) => id.Length > 12 ? id[..12] : id;

    public static string Ago(DateTimeOffset time)
    {
        var span = DateTimeOffset.UtcNow - time;
        if (span < TimeSpan.Zero)
        {
            return "in " + DurationParser.Format(TimeSpan.FromSeconds(Math.Ceiling(-span.TotalSeconds)));
        }
        return DurationParser.Format(TimeSpan.FromSeconds(Math.Floor(span.TotalSeconds) + 0)) + " ago";
    }

    /// <summary>Left-aligned columns separated by two spaces.</summary>
    public void Table(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Format(IReadOnlyList<string> cells) =>
            string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
        Out.WriteLine(Format(headers));
        foreach (var row in rows)
        {
            Out.WriteLine(Format(row));
        }
        Out.Flush();
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A sandbox as --json prints it.</summary>
internal sealed record SandboxView(string Id, string Name, string Provider, SandboxState State, string? Endpoint, string? Image,
                                   string? Runtime, IReadOnlyDictionary<string, string> Labels, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>An action result as --json prints it.</summary>
internal sealed record ActionView(string SandboxId, string? SandboxName, string? SessionId, string Action, int ExitCode, string Output,
                                  string? Stdout, string? Stderr, string? Cwd, bool TimedOut, bool Truncated, double DurationMs);

/// <summary>A removal as --json prints it.</summary>
internal sealed record RemovedView(string Id, string Name, string Provider, bool Removed);

/// <summary>A copy as --json prints it.</summary>
internal sealed record CopyView(string SandboxId, string SandboxName, string Direction, string Source, string Destination, long Bytes, int Entries);

/// <summary>An edit as --json prints it.</summary>
internal sealed record EditView(string SandboxId, string SandboxName, string Path, string Command, string Output, string? Diff);

/// <summary>A removed session as --json prints it.</summary>
internal sealed record SessionRemovedView(string SandboxId, string Id, bool Removed);

internal static class SessionViews
{
    public static SandboxSession From(Sandbox sandbox, SessionInfo info) => SandboxActions.ToSession(sandbox, info);
}
