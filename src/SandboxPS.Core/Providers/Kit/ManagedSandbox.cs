namespace SandboxPS.Core.Providers.Kit;

/// <summary>
/// Labels ↔ <see cref="Sandbox"/>: every provider stores the DESIGN labels on its backend's resource
/// (labels, tags, metadata) and rebuilds the handle from them, so any process can find, list and reap it.
/// </summary>
public static class ManagedSandbox
{
    /// <summary>
    /// A resource still not started this long after its sandbox was created: its creator died between
    /// create and start, so it never will start. It counts as failed and is reaped.
    /// </summary>
    public static readonly TimeSpan NeverStartedAfter = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long an ended sandbox stays listed after its expiry (for <c>ls</c>, logs and <c>rm --expired</c>)
    /// before the provider's own reaper removes it with no SandboxPS command: under a minute (issue 11).
    /// </summary>
    public static readonly TimeSpan LeftoverGrace = TimeSpan.FromSeconds(40);

    /// <summary>The labels to put on every resource of a new sandbox (ours, the scope's and the user's).</summary>
    public static Dictionary<string, string> Labels(string id, string name, DateTimeOffset created, TimeSpan ttl, SandboxSpec spec,
                                                    IEnumerable<KeyValuePair<string, string>>? scope = null, string? runtime = null) =>
        SandboxLabelBuilder.Build(id, name, created, created + ttl, scope is null ? spec.Labels : spec.Labels.Concat(scope), runtime);

    /// <summary>
    /// The handle for a resource carrying <paramref name="labels"/>. <paramref name="fallbackId"/> names
    /// a resource without our id label; <paramref name="notStarted"/> says the backend reports it created
    /// but never started (then, past <see cref="NeverStartedAfter"/> or with its creator gone, it is Failed).
    /// </summary>
    public static Sandbox FromLabels(string provider, IReadOnlyDictionary<string, string> labels, string fallbackId, SandboxState state,
                                     string? endpoint, string? image, bool notStarted = false)
    {
        var id = labels.TryGetValue(SandboxLabels.Id, out var sid) ? sid : fallbackId;
        var name = labels.TryGetValue(SandboxLabels.Name, out var n) ? n : id;
        if (notStarted && NeverStarted(labels, DateTimeOffset.UtcNow))
        {
            state = SandboxState.Failed;
        }
        var created = SandboxLabelBuilder.ParseTime(labels.GetValueOrDefault(SandboxLabels.Created)) ?? DateTimeOffset.MinValue;
        var expires = SandboxLabelBuilder.ParseTime(labels.GetValueOrDefault(SandboxLabels.Expires));
        labels.TryGetValue(SandboxLabels.Runtime, out var runtime);
        return new Sandbox(id, name, provider, state, endpoint, image, runtime,
                           new Dictionary<string, string>(labels, StringComparer.Ordinal), created, expires);
    }

    /// <summary>
    /// True for a created-but-never-started resource that never will start: older than
    /// <see cref="NeverStartedAfter"/>, or its creator (label <c>sandboxps.owner</c>, a process of this
    /// host) is dead and a few seconds have passed.
    /// </summary>
    public static bool NeverStarted(IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        if (SandboxLabelBuilder.ParseTime(labels.GetValueOrDefault(SandboxLabels.Created)) is not { } created)
        {
            return false;
        }
        var age = now - created;
        return age > NeverStartedAfter || (age > CreatorGrace && CreatorIsGone(labels.GetValueOrDefault(SandboxLabels.Owner)));
    }

    /// <summary>How long a creator may take between create and start before a dead creator counts.</summary>
    internal static readonly TimeSpan CreatorGrace = TimeSpan.FromSeconds(5);

    /// <summary>True when <paramref name="owner"/> (<c>host/pid</c>) is a process of this host that no longer runs.</summary>
    public static bool CreatorIsGone(string? owner)
    {
        var slash = owner?.LastIndexOf('/') ?? -1;
        if (owner is null || slash < 0)
        {
            return false;
        }
        if (!string.Equals(owner[..slash], Environment.MachineName, StringComparison.Ordinal)
            || !int.TryParse(owner[(slash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
            || pid <= 0)
        {
            return false;
        }
        if (pid == Environment.ProcessId)
        {
            return false;
        }
        // Linux: /proc/PID exists while the process (or a zombie) does. Elsewhere: unknown, not gone.
        return OperatingSystem.IsLinux() && Directory.Exists("/proc/self") && !Directory.Exists("/proc/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The reaping rule, one for every provider: a sandbox is reaped when it stopped, failed or is gone
    /// (<paramref name="includeEnded"/>), or when it is past its expiry by more than <paramref name="grace"/>.
    /// </summary>
    public static bool IsReapable(Sandbox sandbox, DateTimeOffset now, TimeSpan grace, bool includeEnded)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        if (includeEnded && sandbox.State is SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone)
        {
            return true;
        }
        return sandbox.ExpiresAt is { } expires && expires + grace <= now;
    }
}
