using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>All sessions of the server, with the capacity rule and the lazily created default session.</summary>
internal sealed partial class SessionManager(ServerState state)
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private int _reserved;

    /// <summary>Sessions whose process runs (exited ones are listed until deleted but hold no capacity).</summary>
    public int Count => _sessions.Values.Count(s => s.Alive);

    // Exited sessions stay listed (so a caller learns why its next run fails); the oldest beyond this go.
    private const int MaxExitedKept = 32;

    public IReadOnlyList<Session> All => _sessions.Values.OrderBy(s => s.CreatedAt).ToList();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex IdPattern();

    public async Task<Session> CreateAsync(CreateSessionRequest request)
    {
        var kind = request.Kind ?? SessionKinds.Shell;
        if (kind != SessionKinds.Shell && kind != SessionKinds.Python)
        {
            throw ApiException.BadRequest($"Unknown session kind '{kind}'. Use '{SessionKinds.Shell}' or '{SessionKinds.Python}'.");
        }
        var id = request.Id;
        if (id is not null && !IdPattern().IsMatch(id))
        {
            throw ApiException.BadRequest($"Invalid session id '{id}': use 1-64 letters, digits, '.', '_' or '-'.");
        }
        id ??= NewId(kind);
        if (request.Env is not null)
        {
            foreach (var (k, v) in request.Env)
            {
                ChildEnvironment.Validate(k, v);
            }
        }
        var cwd = request.Cwd is null ? state.WorkDir : PathResolver.Resolve(state, request.Cwd, "cwd");
        if (!Directory.Exists(cwd))
        {
            throw new ApiException(400, ErrorIds.InvalidPath, $"The session's cwd '{cwd}' is not an existing directory.");
        }
        string program;
        if (kind == SessionKinds.Python)
        {
            program = ChildEnvironment.Which("python3", request.Env)
                ?? throw new ApiException(400, ErrorIds.PythonNotAvailable,
                    "No python3 was found on PATH in this sandbox; use a shell session, or an image with python3.");
        }
        else
        {
            program = state.Shell ?? throw new ApiException(400, ErrorIds.ExecutableNotFound,
                "No shell (bash or /bin/sh) was found in this sandbox.");
        }

        if (_sessions.TryGetValue(id, out var existing))
        {
            if (existing.Alive)
            {
                throw new ApiException(409, ErrorIds.SessionExists, $"A session with id '{id}' exists already.");
            }
            // An exited session's id can be taken again.
            Remove(id, existing);
        }
        if (Interlocked.Increment(ref _reserved) > state.MaxSessions)
        {
            Interlocked.Decrement(ref _reserved);
            throw new ApiException(429, ErrorIds.CapacityReached,
                $"The server runs its maximum of {state.MaxSessions} sessions; delete one (DELETE /v1/sessions/{{id}}) first.");
        }
        try
        {
            var session = await Session.StartAsync(id, kind, program, cwd, request.Env, state);
            if (!_sessions.TryAdd(id, session))
            {
                session.Dispose();
                throw new ApiException(409, ErrorIds.SessionExists, $"A session with id '{id}' exists already.");
            }
            // A session whose process ended (exit, killed) gives its capacity back at once.
            session.OnExit(ReleaseSlot);
            PruneExited();
            return session;
        }
        catch
        {
            Interlocked.Decrement(ref _reserved);
            throw;
        }
    }

    private static string NewId(string kind) =>
        kind[..2] + "-" + Native.RandomHex(4);

    public Session Get(string id) => _sessions.TryGetValue(id, out var s)
        ? s
        : throw new ApiException(404, ErrorIds.SessionNotFound, $"No session '{id}'. GET /v1/sessions lists them.");

    /// <summary>The named session; "default" is created on first use.</summary>
    public async Task<Session> GetOrCreateDefaultAsync(string id)
    {
        if (_sessions.TryGetValue(id, out var s) || id != ProtocolConstants.DefaultSessionId)
        {
            return s ?? Get(id);
        }
        await _createLock.WaitAsync();
        try
        {
            if (_sessions.TryGetValue(id, out s))
            {
                return s;
            }
            return await CreateAsync(new CreateSessionRequest { Id = id });
        }
        finally
        {
            _createLock.Release();
        }
    }

    public void Delete(string id)
    {
        if (!_sessions.TryGetValue(id, out var s) || !Remove(id, s))
        {
            throw new ApiException(404, ErrorIds.SessionNotFound, $"No session '{id}'.");
        }
    }

    private bool Remove(string id, Session session)
    {
        if (!_sessions.TryRemove(new KeyValuePair<string, Session>(id, session)))
        {
            return false;
        }
        ReleaseSlot(session);
        session.Dispose();
        return true;
    }

    private void ReleaseSlot(Session session)
    {
        if (session.TryReleaseSlot())
        {
            Interlocked.Decrement(ref _reserved);
        }
    }

    private void PruneExited()
    {
        var exited = _sessions.Values.Where(s => !s.Alive).OrderBy(s => s.LastUsedAt).ToList();
        foreach (var s in exited.Take(Math.Max(0, exited.Count - MaxExitedKept)))
        {
            Remove(s.Id, s);
        }
    }

    public void DisposeAll()
    {
        foreach (var id in _sessions.Keys.ToList())
        {
            if (_sessions.TryRemove(id, out var s))
            {
                s.Dispose();
            }
        }
    }
}
