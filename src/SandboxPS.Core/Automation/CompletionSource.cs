namespace SandboxPS.Core.Automation;

/// <summary>One tab-completion result: what is inserted, and what the menu shows.</summary>
internal sealed record CompletionCandidate(string CompletionText, string ListItemText, string ToolTip);

/// <summary>
/// Tab completion that never hurts the prompt: bounded by a timeout (about 2 s), never throws, and quotes
/// results that contain spaces or PowerShell metacharacters (STYLE.md 4.3 rule 7).
/// </summary>
internal static class CompletionSource
{
    /// <summary>The default bound on a completion call.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Values from <paramref name="source"/> that start with <paramref name="wordToComplete"/> (case-insensitive,
    /// wildcards allowed), sorted; whatever <paramref name="source"/> produced before the timeout, or nothing on failure.
    /// </summary>
    public static IReadOnlyList<CompletionCandidate> Complete(
        Func<CancellationToken, IAsyncEnumerable<(string Value, string ToolTip)>> source,
        string? wordToComplete,
        TimeSpan? timeout = null)
    {
        var word = StripQuotes(wordToComplete ?? "");
        WildcardMatcher matcher;
        try
        {
            matcher = WildcardMatcher.Create(word + "*");
        }
        catch (SandboxException)
        {
            return [];
        }
        var found = new List<(string Value, string ToolTip)>();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var work = Task.Run(async () =>
        {
            await foreach (var item in source(cts.Token).WithCancellation(cts.Token).ConfigureAwait(false))
            {
                if (matcher.IsMatch(item.Value))
                {
                    lock (found)
                    {
                        found.Add(item);
                    }
                }
            }
        }, cts.Token);
        try
        {
            // Wait bounded by the same timeout: a source that ignores its token cannot hang the prompt.
            work.Wait(timeout ?? DefaultTimeout);
        }
        catch (AggregateException)
        {
            // Failure or cancellation: complete with what arrived before it, never throw at the prompt.
        }
        _ = work.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        lock (found)
        {
            return found.DistinctBy(f => f.Value, StringComparer.Ordinal)
                .OrderBy(f => f.Value, StringComparer.OrdinalIgnoreCase)
                .Select(f => new CompletionCandidate(Quote(f.Value), f.Value, string.IsNullOrEmpty(f.ToolTip) ? f.Value : f.ToolTip))
                .ToList();
        }
    }

    /// <summary>The value as PowerShell code: bare when safe, else single-quoted with quotes doubled.</summary>
    public static string Quote(string value)
    {
        if (value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '+' or '=') && !value.StartsWith('-'))
        {
            return value;
        }
        return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    private static string StripQuotes(string word)
    {
        if (word.Length > 0 && word[0] is '\'' or '"')
        {
            word = word[1..];
            if (word.Length > 0 && word[^1] is '\'' or '"')
            {
                word = word[..^1];
            }
        }
        return word;
    }
}
