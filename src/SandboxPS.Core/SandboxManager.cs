using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using SandboxPS.Core.Providers.Kit;

namespace SandboxPS.Core;

/// <summary>
/// The facade the CLI and the cmdlets use: a registry of providers, lookup by id, id prefix or name,
/// readiness, removal, expiry and cached clients. Thread-safe.
/// </summary>
public sealed class SandboxManager
{
    private static readonly Lazy<SandboxManager> LazyDefault = new(() => new SandboxManager(BuiltInProviders.Create()));
    private static readonly int[] ReadyBackoffMs = [2, 5, 10, 20, 50, 100];
    private static readonly TimeSpan StatusRecheck = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ReapInterval = TimeSpan.FromMinutes(1);

    /// <summary>Grace after <see cref="Sandbox.ExpiresAt"/> before the opportunistic reaper removes a sandbox.</summary>
    public static readonly TimeSpan ReapGrace = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, ISandboxProvider> _providers;
    private readonly List<string> _order;
    private readonly ConcurrentDictionary<string, Lazy<SandboxClient>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime> _lastReap = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The manager over the built-in providers (<c>process</c>, and <c>docker</c> where built in).</summary>
    public static SandboxManager Default => LazyDefault.Value;

    /// <summary>A manager over <paramref name="providers"/> (names must be unique, case-insensitive).</summary>
    public SandboxManager(IEnumerable<ISandboxProvider> providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        _providers = new Dictionary<string, ISandboxProvider>(StringComparer.OrdinalIgnoreCase);
        _order = [];
        foreach (var provider in providers)
        {
            if (!_providers.TryAdd(provider.Name, provider))
            {
                throw new ArgumentException($"Two providers are named '{provider.Name}'.", nameof(providers));
            }
            _order.Add(provider.Name);
        }
    }

    /// <summary>Grace the opportunistic reaper of this instance uses (tests shorten it).</summary>
    internal TimeSpan OpportunisticReapGrace { get; init; } = ReapGrace;

    /// <summary>How often this instance reaps per provider (tests shorten it).</summary>
    internal TimeSpan OpportunisticReapInterval { get; init; } = ReapInterval;

    /// <summary>Provider names in registration order.</summary>
    public IReadOnlyCollection<string> ProviderNames => _order.AsReadOnly();

    /// <summary>Timeout the CLI and cmdlets use for readiness unless told otherwise.</summary>
    public static TimeSpan DefaultReadyTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The provider called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="SandboxException">InvalidArgument / <c>UnknownProvider</c>, listing the valid names.</exception>
    public ISandboxProvider GetProvider(string name)
    {
        if (name is not null && _providers.TryGetValue(name, out var provider))
        {
            return provider;
        }
        throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.UnknownProvider,
            $"There is no provider '{name}'. Valid providers: {string.Join(", ", _order)}.", name)
        {
            RecommendedAction = $"Pass --provider {string.Join(" or --provider ", _order)}.",
        };
    }

    /// <summary>
    /// Creates a sandbox on <paramref name="provider"/>; does not wait for readiness (see <see cref="WaitReadyAsync"/>).
    /// Before creating, it removes (cheaply, at most once a minute per provider and process) sandboxes of that
    /// provider that are past their expiry by more than <see cref="ReapGrace"/>.
    /// </summary>
    /// <remarks>CLI: <c>sandboxps new --no-wait</c>.</remarks>
    public async Task<Sandbox> CreateAsync(string provider, SandboxSpec spec, CancellationToken cancellationToken = default)
    {
        var p = GetProvider(provider);
        await ReapOpportunisticallyAsync(p, cancellationToken).ConfigureAwait(false);
        return await p.CreateAsync(spec, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates a sandbox and waits until it is ready. A sandbox that does not get there (it failed, the wait
    /// timed out, or <paramref name="cancellationToken"/> was cancelled, e.g. by Ctrl-C) is removed before the original
    /// error is rethrown: the caller never received it, so nothing else would remove it before its TTL.
    /// </summary>
    /// <param name="provider">Provider name, as for <see cref="CreateAsync"/>.</param>
    /// <param name="spec">What to create.</param>
    /// <param name="timeout">How long to wait for readiness (<c>SandboxReadyTimeout</c> after it).</param>
    /// <param name="onCreated">Called once the sandbox exists, before the wait (for progress and verbose output).</param>
    /// <param name="cancellationToken">Cancels the create or the wait; the sandbox is removed either way.</param>
    /// <remarks>CLI: <c>sandboxps new</c> and <c>run</c>; PowerShell: <c>New-Sandbox -Wait</c>.</remarks>
    public async Task<Sandbox> CreateReadyAsync(string provider, SandboxSpec spec, TimeSpan timeout,
                                                Action<Sandbox>? onCreated = null, CancellationToken cancellationToken = default)
    {
        var sandbox = await CreateAsync(provider, spec, cancellationToken).ConfigureAwait(false);
        try
        {
            onCreated?.Invoke(sandbox);
            return await WaitReadyAsync(sandbox, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SandboxException or OperationCanceledException)
        {
            using var cleanup = new CancellationTokenSource(CleanupBudget);
            try
            {
                await RemoveAsync(sandbox, cleanup.Token).ConfigureAwait(false);
            }
            catch (Exception removal) when (removal is SandboxException or OperationCanceledException)
            {
                // The original error is what the caller needs; the reaper removes what is left after its TTL.
            }
            throw;
        }
    }

    /// <summary>How long removing a sandbox that never became ready may take (independent of the caller's token).</summary>
    internal static readonly TimeSpan CleanupBudget = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits until the sandbox's server answers <c>GET /health</c> (probes with backoff 2, 5, 10, 20, 50, then
    /// 100 ms), asking the provider for its state until it runs and then every 250 ms, so a sandbox that dies
    /// fails within a quarter second.
    /// Returns the sandbox with <see cref="Sandbox.State"/> = Ready.
    /// </summary>
    /// <exception cref="SandboxNotRunningException">The sandbox stopped or failed; carries its exit code and last output lines.</exception>
    /// <exception cref="SandboxException">Timeout / <c>SandboxReadyTimeout</c> naming <paramref name="timeout"/>.</exception>
    public async Task<Sandbox> WaitReadyAsync(Sandbox sandbox, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        var provider = GetProvider(sandbox.Provider);
        var clock = Stopwatch.StartNew();
        var statusAge = Stopwatch.StartNew();
        int round = 0;
        SandboxStatus? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Once the sandbox runs, the health probe is what ends the wait; the provider is asked again only
            // every StatusRecheck (to fail fast when it dies), not every round: with 20 sandboxes starting
            // at once, an engine inspect per probe competes with the container starts being waited for.
            if (last is null || last.State != SandboxState.Running || sandbox.Endpoint is null || statusAge.Elapsed >= StatusRecheck)
            {
                last = await provider.GetStatusAsync(sandbox.Id, cancellationToken).ConfigureAwait(false);
                statusAge.Restart();
            }
            if (last.State is SandboxState.Stopped or SandboxState.Failed or SandboxState.Gone)
            {
                sandbox.State = last.State;
                throw NotRunning(sandbox, last);
            }
            if (sandbox.Endpoint is null && last.State is SandboxState.Running or SandboxState.Ready)
            {
                var fresh = await provider.GetAsync(sandbox.Id, cancellationToken).ConfigureAwait(false);
                sandbox.Endpoint = fresh?.Endpoint;
            }
            if (last.State == SandboxState.Ready)
            {
                sandbox.State = SandboxState.Ready;
                return sandbox;
            }
            if (sandbox.Endpoint is not null && last.State == SandboxState.Running)
            {
                var remaining = timeout - clock.Elapsed;
                var client = await GetClientAsync(sandbox, cancellationToken).ConfigureAwait(false);
                if (remaining > TimeSpan.Zero
                    && await client.ProbeHealthAsync(remaining < TimeSpan.FromSeconds(1) ? remaining : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false))
                {
                    sandbox.State = SandboxState.Ready;
                    return sandbox;
                }
            }
            if (clock.Elapsed >= timeout)
            {
                throw new SandboxException(SandboxErrorKind.Timeout, SandboxErrorIds.SandboxReadyTimeout,
                    $"Sandbox '{sandbox.Name}' did not become ready within {DurationParser.Format(timeout)} (last state: {last.State}" +
                    (last.Reason is null ? ")." : $", {last.Reason})."), sandbox.Name)
                {
                    RecommendedAction = "Look at its log, or wait longer (sandboxps new --ready-timeout).",
                };
            }
            var delay = TimeSpan.FromMilliseconds(ReadyBackoffMs[Math.Min(round++, ReadyBackoffMs.Length - 1)]);
            var left = timeout - clock.Elapsed;
            await Task.Delay(delay < left ? delay : (left > TimeSpan.Zero ? left : TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
        }
    }

    internal static SandboxNotRunningException NotRunning(Sandbox sandbox, SandboxStatus status)
    {
        var lines = status.LastLogLines ?? [];
        var code = status.ExitCode is { } c ? $" (exit code {c.ToString(CultureInfo.InvariantCulture)})" : "";
        var message = $"Sandbox '{sandbox.Name}' is {status.State.ToString().ToLowerInvariant()}{code}: {status.Reason ?? "it is not running"}";
        if (lines.Count > 0)
        {
            message += System.Environment.NewLine + "Last output:" + System.Environment.NewLine + string.Join(System.Environment.NewLine, lines.TakeLast(10));
        }
        return new SandboxNotRunningException(sandbox.Name, message, status.ExitCode, lines);
    }

    /// <summary>The current state of <paramref name="sandbox"/> from its provider.</summary>
    public Task<SandboxStatus> GetStatusAsync(Sandbox sandbox, CancellationToken cancellationToken = default) =>
        GetProvider(sandbox.Provider).GetStatusAsync(sandbox.Id, cancellationToken);

    /// <summary>Managed sandboxes of one provider, or of every provider; providers that cannot be reached fail the call.</summary>
    public IAsyncEnumerable<Sandbox> ListAsync(string? provider = null, IReadOnlyDictionary<string, string>? labels = null,
                                               CancellationToken cancellationToken = default) =>
        ListAsync(provider, labels, null, cancellationToken);

    /// <summary>
    /// Managed sandboxes of one provider, or of every provider. When listing every provider, one that is
    /// unavailable (no Docker engine) is skipped and reported to <paramref name="onProviderUnavailable"/>
    /// instead of failing the listing; without a callback it is skipped silently.
    /// </summary>
    public async IAsyncEnumerable<Sandbox> ListAsync(string? provider, IReadOnlyDictionary<string, string>? labels,
                                                     Action<string, SandboxException>? onProviderUnavailable,
                                                     [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (provider is not null)
        {
            await foreach (var sandbox in GetProvider(provider).ListAsync(labels, cancellationToken).ConfigureAwait(false))
            {
                yield return sandbox;
            }
            yield break;
        }
        foreach (var name in _order)
        {
            List<Sandbox> items;
            try
            {
                items = await CollectAsync(_providers[name].ListAsync(labels, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            catch (SandboxException ex) when (ex.Kind is SandboxErrorKind.ProviderUnavailable or SandboxErrorKind.Unauthorized)
            {
                onProviderUnavailable?.Invoke(name, ex);
                continue;
            }
            foreach (var sandbox in items)
            {
                yield return sandbox;
            }
        }
    }

    private static async Task<List<Sandbox>> CollectAsync(IAsyncEnumerable<Sandbox> source, CancellationToken cancellationToken)
    {
        var list = new List<Sandbox>();
        await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            list.Add(item);
        }
        return list;
    }

    /// <summary>
    /// Finds one sandbox: exact id first, then exact name, then a unique id prefix (every provider, or
    /// <paramref name="provider"/>). The result carries its token when its provider can recover it.
    /// </summary>
    /// <exception cref="SandboxException">NotFound / <c>SandboxNotFound</c>; InvalidArgument / <c>SandboxAmbiguous</c> listing the matches.</exception>
    public async Task<Sandbox> ResolveAsync(string idPrefixOrName, string? provider = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(idPrefixOrName))
        {
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.SandboxNotFound,
                "No sandbox given: pass an id, a unique id prefix or a name.", idPrefixOrName);
        }
        var unavailable = new List<string>();
        var all = new List<Sandbox>();
        await foreach (var sandbox in ListAsync(provider, null, (name, ex) => unavailable.Add($"{name}: {ex.Message}"), cancellationToken).ConfigureAwait(false))
        {
            all.Add(sandbox);
        }
        var match = Pick(all, idPrefixOrName, unavailable);
        await AttachTokenAsync(match, cancellationToken).ConfigureAwait(false);
        return match;
    }

    /// <summary>The resolution rule, separate for testing: exact id, exact name, unique id prefix.</summary>
    internal static Sandbox Pick(IReadOnlyList<Sandbox> all, string key, IReadOnlyList<string>? unavailable = null)
    {
        var byId = all.Where(s => string.Equals(s.Id, key, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byId.Count == 1)
        {
            return byId[0];
        }
        var byName = all.Where(s => string.Equals(s.Name, key, StringComparison.Ordinal)).ToList();
        if (byName.Count == 1)
        {
            return byName[0];
        }
        var candidates = byId.Count > 1 ? byId
                       : byName.Count > 1 ? byName
                       : all.Where(s => s.Id.StartsWith(key, StringComparison.OrdinalIgnoreCase)).ToList();
        if (candidates.Count == 1)
        {
            return candidates[0];
        }
        if (candidates.Count > 1)
        {
            var list = string.Join(", ", candidates.Select(s => $"{s.Name} ({Short(s.Id)}, {s.Provider})"));
            throw new SandboxException(SandboxErrorKind.InvalidArgument, SandboxErrorIds.SandboxAmbiguous,
                $"'{key}' matches {candidates.Count} sandboxes: {list}.", key)
            {
                RecommendedAction = "Pass a longer id prefix, the full id, or the name.",
            };
        }
        var note = unavailable is { Count: > 0 } ? $" (not searched: {string.Join("; ", unavailable)})" : "";
        throw new SandboxException(SandboxErrorKind.NotFound, SandboxErrorIds.SandboxNotFound,
            $"No sandbox has the id, id prefix or name '{key}'{note}.", key)
        {
            RecommendedAction = "List sandboxes with 'sandboxps ls'.",
        };
    }

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;

    /// <summary>Removes the sandbox and everything made for it. Idempotent.</summary>
    public async Task RemoveAsync(Sandbox sandbox, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        await GetProvider(sandbox.Provider).RemoveAsync(sandbox.Id, cancellationToken).ConfigureAwait(false);
        foreach (var key in _clients.Keys.Where(k => k.StartsWith(sandbox.Provider + "|" + sandbox.Id + "|", StringComparison.Ordinal)).ToList())
        {
            if (_clients.TryRemove(key, out var client) && client.IsValueCreated)
            {
                client.Value.Dispose();
            }
        }
        sandbox.State = SandboxState.Gone;
    }

    /// <summary>Removes every managed sandbox that is stopped, failed, gone or past its expiry, on every available provider.</summary>
    /// <remarks>CLI: <c>sandboxps rm --expired</c>.</remarks>
    public Task<IReadOnlyList<Sandbox>> RemoveExpiredAsync(CancellationToken cancellationToken = default) => RemoveExpiredAsync(null, cancellationToken);

    /// <summary>Like <see cref="RemoveExpiredAsync(CancellationToken)"/>, on one provider only (null = every available provider).</summary>
    public async Task<IReadOnlyList<Sandbox>> RemoveExpiredAsync(string? provider, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        var doomed = new List<Sandbox>();
        await foreach (var sandbox in ListAsync(provider, null, null, cancellationToken).ConfigureAwait(false))
        {
            if (ManagedSandbox.IsReapable(sandbox, now, TimeSpan.Zero, includeEnded: true))
            {
                doomed.Add(sandbox);
            }
        }
        foreach (var sandbox in doomed)
        {
            await RemoveAsync(sandbox, cancellationToken).ConfigureAwait(false);
        }
        return doomed;
    }

    private async Task ReapOpportunisticallyAsync(ISandboxProvider provider, CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        if (_lastReap.TryGetValue(provider.Name, out var last) && now - last < OpportunisticReapInterval)
        {
            return;
        }
        _lastReap[provider.Name] = now;
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            var reapTime = DateTimeOffset.UtcNow;
            var doomed = new List<Sandbox>();
            await foreach (var sandbox in provider.ListAsync(null, budget.Token).ConfigureAwait(false))
            {
                if (ManagedSandbox.IsReapable(sandbox, reapTime, OpportunisticReapGrace, includeEnded: false))
                {
                    doomed.Add(sandbox);
                }
            }
            foreach (var sandbox in doomed)
            {
                await provider.RemoveAsync(sandbox.Id, budget.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SandboxException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
        {
            // Best effort only: reaping never fails a create.
            Trace.WriteLine($"sandboxps: opportunistic reap on {provider.Name} skipped: {ex.Message}");
        }
    }

    /// <summary>
    /// The client for <paramref name="sandbox"/>, cached per sandbox and endpoint. The token comes from the
    /// handle, or from its provider when the handle came from elsewhere.
    /// </summary>
    /// <exception cref="SandboxException">NotReady when the sandbox has no endpoint; <c>SandboxTokenUnavailable</c>.</exception>
    public SandboxClient GetClient(Sandbox sandbox)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        if (sandbox.Token is null)
        {
            AttachTokenAsync(sandbox, CancellationToken.None).GetAwaiter().GetResult();
        }
        return GetClientCore(sandbox);
    }

    /// <summary>Like <see cref="GetClient"/>, without blocking when the token must be recovered.</summary>
    public async Task<SandboxClient> GetClientAsync(Sandbox sandbox, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        if (sandbox.Token is null)
        {
            await AttachTokenAsync(sandbox, cancellationToken).ConfigureAwait(false);
        }
        return GetClientCore(sandbox);
    }

    private SandboxClient GetClientCore(Sandbox sandbox)
    {
        if (string.IsNullOrEmpty(sandbox.Endpoint))
        {
            throw new SandboxException(SandboxErrorKind.NotReady, "SandboxNotReady",
                $"Sandbox '{sandbox.Name}' has no server endpoint yet (state {sandbox.State}).", sandbox.Name)
            {
                RecommendedAction = "Wait until it is ready (sandboxps new waits by default).",
            };
        }
        var token = sandbox.Token ?? throw TokenUnavailable(sandbox);
        var key = sandbox.Provider + "|" + sandbox.Id + "|" + sandbox.Endpoint;
        var endpoint = sandbox.Endpoint;
        return _clients.GetOrAdd(key, _ => new Lazy<SandboxClient>(
            () => new SandboxClient(endpoint, token, new SandboxClientOptions { SandboxName = sandbox.Name }),
            LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }

    private async Task AttachTokenAsync(Sandbox sandbox, CancellationToken cancellationToken)
    {
        if (sandbox.Token is not null)
        {
            return;
        }
        if (GetProvider(sandbox.Provider) is ISandboxTokenSource source)
        {
            sandbox.Token = await source.GetTokenAsync(sandbox.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    private static SandboxException TokenUnavailable(Sandbox sandbox) =>
        new(SandboxErrorKind.Unauthorized, SandboxErrorIds.SandboxTokenUnavailable,
            $"The token of sandbox '{sandbox.Name}' is not known here, and its provider '{sandbox.Provider}' cannot recover it.", sandbox.Name);
}
