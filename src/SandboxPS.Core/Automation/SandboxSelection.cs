namespace SandboxPS.Core.Automation;

/// <summary>
/// Name filtering with wildcards for Get-Sandbox / Remove-Sandbox / Wait-SandboxReady -Name. Tracks which
/// literal names (no wildcard) matched nothing, so the cmdlet can report SandboxNotFound for exactly those,
/// the way Get-Process does.
/// </summary>
internal sealed class NameFilter
{
    private readonly List<(string Pattern, WildcardMatcher Matcher, bool Literal)> _patterns;
    private readonly HashSet<string> _matched = new(StringComparer.Ordinal);

    /// <summary>A filter over <paramref name="patterns"/>; none (null or empty) matches everything.</summary>
    public NameFilter(IEnumerable<string>? patterns)
    {
        _patterns = (patterns ?? []).Where(p => !string.IsNullOrEmpty(p))
            .Select(p => (p, WildcardMatcher.Create(p), !WildcardMatcher.ContainsWildcardCharacters(p)))
            .ToList();
    }

    /// <summary>True when there is no pattern.</summary>
    public bool MatchesAll => _patterns.Count == 0;

    /// <summary>True when <paramref name="sandbox"/>'s name matches any pattern (every sandbox when there is none).</summary>
    public bool IsMatch(Sandbox sandbox)
    {
        if (MatchesAll)
        {
            return true;
        }
        var any = false;
        foreach (var (pattern, matcher, _) in _patterns)
        {
            if (matcher.IsMatch(sandbox.Name))
            {
                _matched.Add(pattern);
                any = true;
            }
        }
        return any;
    }

    /// <summary>Literal names that matched no sandbox so far (unescaped).</summary>
    public IEnumerable<string> UnmatchedLiterals =>
        _patterns.Where(p => p.Literal && !_matched.Contains(p.Pattern)).Select(p => WildcardMatcher.Unescape(p.Pattern));
}

/// <summary>Id resolution for -Id parameters: an exact id, or a unique id prefix. Never a name.</summary>
internal static class SandboxIdMatcher
{
    /// <summary>The sandbox whose id is <paramref name="idOrPrefix"/> or uniquely starts with it.</summary>
    /// <exception cref="SandboxException">NotFound <c>SandboxNotFound</c>; InvalidArgument <c>SandboxAmbiguous</c> listing the matches.</exception>
    public static Sandbox Pick(IReadOnlyList<Sandbox> all, string idOrPrefix)
    {
        var key = idOrPrefix.Trim();
        var exact = all.Where(s => string.Equals(s.Id, key, StringComparison.OrdinalIgnoreCase)).ToList();
        var candidates = exact.Count > 0 ? exact
            : key.Length == 0 ? []
            : all.Where(s => s.Id.StartsWith(key, StringComparison.OrdinalIgnoreCase)).ToList();
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new SandboxException(SandboxErrorKind.NotFound, "SandboxNotFound",
                $"No sandbox has the id or id prefix '{key}'.", key)
            {
                RecommendedAction = "Run Get-Sandbox to list sandboxes; use -Name to select by name.",
            },
            _ => throw new SandboxException(SandboxErrorKind.InvalidArgument, "SandboxAmbiguous",
                $"'{key}' matches {candidates.Count} sandboxes: {string.Join(", ", candidates.Select(s => $"{s.Name} ({s.Id}, {s.Provider})"))}.", key)
            {
                RecommendedAction = "Pass a longer id prefix or the full id.",
            },
        };
    }

    /// <summary>
    /// The sandbox ids to look up for -Id or for piped sessions. A session's own Id names the session, not
    /// its sandbox: PowerShell binds a property named like the parameter before its aliases, so a session
    /// piped into an -Id parameter would look up the session id and find nothing.
    /// </summary>
    public static IReadOnlyList<string> IdsOf(IEnumerable<string> ids, IEnumerable<SandboxSession> sessions) =>
        [.. ids, .. sessions.Select(s => s.SandboxId)];

    /// <summary>The error Remove-Sandbox gives for a piped session: removing its whole sandbox would be a guess.</summary>
    public static SandboxException SessionIsNotASandbox(SandboxSession session) =>
        new(SandboxErrorKind.InvalidArgument, "SessionPipedToRemoveSandbox",
            $"Remove-Sandbox received session '{session.Id}' of sandbox '{session.SandboxName ?? session.SandboxId}', not a sandbox; nothing was removed.",
            session.Id)
        {
            RecommendedAction = $"To remove the session, pipe it to Remove-SandboxSession. To remove its sandbox, run Remove-Sandbox -Id {session.SandboxId}.",
        };

    /// <summary>True when the sandbox is stopped, failed, gone or past its expiry (what Remove-Sandbox -Expired removes).</summary>
    public static bool IsExpired(Sandbox sandbox, DateTimeOffset now) =>
        sandbox.State is SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone
        || (sandbox.ExpiresAt is { } expires && expires <= now);
}
